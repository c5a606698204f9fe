// The engines' UDP socket and wake-up fd (native/udp.cc).
#pragma once
#include <cstdint>

namespace kdp {

// A non-blocking, close-on-exec UDP socket bound to localIp:port (host byte order) in the calling
// thread's namespace, with large kernel buffers. Throws SysError.
int openUdpSocket(uint32_t localIp, uint16_t port);
// UDP_SEGMENT: the kernel accepts one send of many equal-size datagrams. False (errno set) when not.
bool probeUdpGso(int fd);
// UDP_GRO: the kernel may hand back several datagrams of one sender coalesced. False when not.
bool enableUdpGro(int fd);
// An eventfd the loops poll next to their data fds; close() writes it to wake them. Throws SysError.
int openWakeFd();
void signalWakeFd(int fd);

}  // namespace kdp
