// The engines' per-packet work over one batch, without I/O and without N-API: what engineProcess
// (byte-exact tests against the TypeScript engine) and engineBench (instruction counts of the
// loop itself under callgrind) both run. The packets are modified in place (TTL), and outputs may
// point into them, so callers pass copies they own.
#pragma once
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "offload.h"
#include "packet.h"
#include "route_table.h"

namespace kdp {

struct BatchPacket {
  uint8_t* data;
  size_t len;
  uint32_t src = 0;      // 'udp': the sending node's address
  size_t gsoSize = 0;    // 'udp': the UDP_GRO segment size (0: one datagram)
};

// Where a batch's results go, in order.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  virtual void toUdp(uint32_t peer, const uint8_t* data, size_t len) = 0;
  // A packet for the TUN: its vnet header when `withHdr`, then the iovecs in order.
  virtual void toTun(bool withHdr, const VnetHdr& hdr, const iovec* iov, size_t n) = 0;
  virtual void drop(DropReason reason) = 0;
};

// Scratch space a loop thread keeps between batches (segmentation arena, ICMP buffer, coalescer).
struct BatchScratch {
  std::vector<uint8_t> arena = std::vector<uint8_t>(65535 + 256 * 120);
  std::vector<Segment> segs = std::vector<Segment>(256);
  uint8_t icmp[kMaxIcmpError];
  TcpCoalescer coalescer;
  std::vector<TcpCoalescer::Output> outputs;
  std::vector<iovec> iovs;
};

// From the TUN (with a vnet header first when `offload`): segmented, routed, to UDP or ICMP back.
void processTunBatch(BatchPacket* packets, size_t n, bool offload, const RouteTable& routes,
                     const LocalConfig& local, BatchScratch& scratch, BatchSink& sink);

// From UDP: checked, split at gsoSize, coalesced back into TCP super-packets when `offload`.
void processUdpBatch(BatchPacket* packets, size_t n, bool offload, const RouteTable& routes,
                     const LocalConfig& local, BatchScratch& scratch, BatchSink& sink);

}  // namespace kdp
