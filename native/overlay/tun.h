// TUN device creation and its offload settings (native/tun.cc).
#pragma once
#include <string>

namespace kdp {

struct TunOptions {
  bool vnetHdr = false;
  bool multiQueue = false;
};

// Creates (or attaches to) a TUN device named `name` in the calling thread's network namespace:
// IFF_TUN | IFF_NO_PI, plus IFF_VNET_HDR / IFF_MULTI_QUEUE when asked. Returns a non-blocking,
// close-on-exec fd; the device goes away with its last fd. Throws SysError.
int openTun(const std::string& name, const TunOptions& options);

// Asks the kernel to hand over TCP/IPv4 super-packets with partial checksums (TUN_F_CSUM |
// TUN_F_TSO4). Returns false (with errno set) when the kernel refuses; the caller then runs
// without offload.
bool enableTunOffload(int fd);

// Sets the virtio_net_hdr length the TUN expects (10 bytes, struct virtio_net_hdr).
bool setTunVnetHdrSize(int fd, int size);

}  // namespace kdp
