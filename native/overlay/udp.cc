// Opens the engines' UDP socket and probes the kernel's UDP offloads (UDP_SEGMENT since 4.18,
// UDP_GRO since 5.0); a refusal is not an error, the batched engine just runs without.
#include "udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "route_table.h"
#include "sys_error.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace kdp {

int openUdpSocket(uint32_t localIp, uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SysError("socket(AF_INET, SOCK_DGRAM)", errno);
  // Bursts of 64 KB super-packets: room for a few in flight both ways. FORCE works as root (the
  // agent is root), the plain option is the fallback capped by net.core.*mem_max.
  int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(localIp);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    int err = errno;
    close(fd);
    throw SysError("bind udp " + formatIpv4(localIp) + ":" + std::to_string(port), err);
  }
  return fd;
}

bool probeUdpGso(int fd) {
  int zero = 0;  // 0 = no default segment size; sends still pass theirs in a cmsg
  return setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
}

bool enableUdpGro(int fd) {
  int one = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

int openWakeFd() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw SysError("eventfd", errno);
  return fd;
}

void signalWakeFd(int fd) {
  uint64_t one = 1;
  ssize_t n = write(fd, &one, sizeof(one));
  (void)n;  // a full counter still wakes the poller
}

}  // namespace kdp
