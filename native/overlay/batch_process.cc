// See batch_process.h.
#include "batch_process.h"

#include <cstring>

namespace kdp {

void processTunBatch(BatchPacket* packets, size_t n, bool offload, const RouteTable& routes,
                     const LocalConfig& local, BatchScratch& scratch, BatchSink& sink) {
  const VnetHdr zeroHdr{};
  for (size_t i = 0; i < n; i++) {
    uint8_t* pkt = packets[i].data;
    size_t len = packets[i].len;
    VnetHdr hdr{};
    if (offload) {
      if (len < kVnetHdrLen) {
        sink.drop(DropReason::Malformed);
        continue;
      }
      memcpy(&hdr, pkt, kVnetHdrLen);
      pkt += kVnetHdrLen;
      len -= kVnetHdrLen;
    }
    int count = splitTunPacket(pkt, len, hdr, scratch.arena.data(), scratch.arena.size(), scratch.segs.data(),
                               scratch.segs.size());
    if (count < 0) sink.drop(DropReason::Malformed);
    for (int s = 0; s < count; s++) {
      const Segment& seg = scratch.segs[s];
      Decision d = processFromTun(seg.data, seg.len, routes, local, scratch.icmp);
      if (d.forward) {
        sink.toUdp(d.peer, seg.data, seg.len);
        continue;
      }
      if (d.icmpLength > 0) {
        iovec iov{scratch.icmp, d.icmpLength};
        sink.toTun(offload, zeroHdr, &iov, 1);
      }
      sink.drop(d.reason);
    }
  }
}

void processUdpBatch(BatchPacket* packets, size_t n, bool offload, const RouteTable& routes,
                     const LocalConfig& local, BatchScratch& scratch, BatchSink& sink) {
  const VnetHdr zeroHdr{};
  for (size_t i = 0; i < n; i++) {
    uint8_t* pkt = packets[i].data;
    size_t len = packets[i].len;
    size_t gsoSize = packets[i].gsoSize;
    if (gsoSize == 0 || len == 0) gsoSize = len ? len : 1;
    if (len == 0) sink.drop(processFromUdp(packets[i].src, pkt, 0, routes, local).reason);
    for (size_t off = 0; off < len; off += gsoSize) {
      size_t segLen = len - off < gsoSize ? len - off : gsoSize;
      Decision d = processFromUdp(packets[i].src, pkt + off, segLen, routes, local);
      if (!d.forward) {
        sink.drop(d.reason);
      } else if (offload) {
        scratch.coalescer.add(pkt + off, segLen);
      } else {
        iovec iov{pkt + off, segLen};
        sink.toTun(false, zeroHdr, &iov, 1);
      }
    }
  }
  if (!offload) return;
  scratch.outputs.clear();
  scratch.iovs.clear();
  scratch.coalescer.flush(&scratch.outputs, &scratch.iovs);
  for (const auto& o : scratch.outputs) sink.toTun(true, o.hdr, &scratch.iovs[o.iovStart], o.iovCount);
}

}  // namespace kdp
