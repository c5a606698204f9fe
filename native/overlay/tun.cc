// Opens TUN devices. Kept apart from the engines because the TypeScript engine also gets its fd
// from here (openTun in the addon), and so that the ioctl details sit in one place.
#include "tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "sys_error.h"

namespace kdp {

int openTun(const std::string& name, const TunOptions& options) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    throw std::invalid_argument("TUN name must be 1-" + std::to_string(IFNAMSIZ - 1) + " characters, got '" +
                                name + "'");
  }
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw SysError("open /dev/net/tun", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (options.vnetHdr) ifr.ifr_flags |= IFF_VNET_HDR;
  if (options.multiQueue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    throw SysError("ioctl TUNSETIFF " + name, err);
  }
  return fd;
}

bool enableTunOffload(int fd) {
  return ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) == 0;
}

bool setTunVnetHdrSize(int fd, int size) {
  return ioctl(fd, TUNSETVNETHDRSZ, &size) == 0;
}

}  // namespace kdp
