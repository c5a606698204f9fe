// TSO segmentation (TUN -> UDP) and GRO-style coalescing (UDP -> TUN) for the batched engine's
// offload path. Checksums follow the virtio_net_hdr partial-checksum convention: with NEEDS_CSUM the
// field at csum_start + csum_offset holds the folded pseudo-header sum, and the sum over
// [csum_start, end) completes it.
#include "offload.h"

#include <cstring>

#include "packet.h"

namespace kdp {

namespace {

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10, kTcpUrg = 0x20,
                  kTcpEce = 0x40, kTcpCwr = 0x80;

bool finishPartialChecksum(uint8_t* pkt, size_t len, const VnetHdr& hdr) {
  size_t start = hdr.csumStart, field = size_t(hdr.csumStart) + hdr.csumOffset;
  if (start >= len || field + 2 > len) return false;
  uint16_t sum = finishChecksum(sumBytes(pkt + start, len - start));
  // A UDP checksum that computes to 0 is sent as 0xffff (0 means "no checksum", RFC 768).
  if (sum == 0 && len >= 20 && pkt[9] == 17) sum = 0xffff;
  store16(pkt + field, sum);
  return true;
}

}  // namespace

int splitTunPacket(uint8_t* pkt, size_t len, const VnetHdr& hdr, uint8_t* arena, size_t arenaCap, Segment* out,
                   size_t maxSegments) {
  uint8_t gso = hdr.gsoType & ~kVnetGsoEcn;
  if (gso == kVnetGsoNone) {
    if ((hdr.flags & kVnetFlagNeedsCsum) && !finishPartialChecksum(pkt, len, hdr)) return -1;
    out[0] = {pkt, len};
    return 1;
  }
  if (gso != kVnetGsoTcpv4 || hdr.gsoSize == 0) return -1;
  Ipv4Info info;
  if (!parseIpv4(pkt, len, &info) || info.protocol != 6 || info.totalLength != len) return -1;
  if (info.ihl + 20 > len) return -1;
  const uint8_t* tcp = pkt + info.ihl;
  size_t thl = size_t(tcp[12] >> 4) * 4;
  if (thl < 20 || info.ihl + thl > len) return -1;
  size_t hdrLen = info.ihl + thl;
  size_t payload = len - hdrLen;
  size_t mss = hdr.gsoSize;
  size_t count = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (count > maxSegments || count * hdrLen + payload > arenaCap) return -1;

  uint16_t id0 = load16(pkt + 4);
  uint32_t seq0 = load32(tcp + 4);
  uint8_t flags = tcp[13];
  uint8_t* dst = arena;
  for (size_t i = 0; i < count; i++) {
    size_t off = i * mss;
    size_t chunk = payload - off < mss ? payload - off : mss;
    size_t segLen = hdrLen + chunk;
    memcpy(dst, pkt, hdrLen);
    uint32_t payloadSum = copyAndSum(dst + hdrLen, pkt + hdrLen + off, chunk);
    store16(dst + 2, uint16_t(segLen));
    store16(dst + 4, uint16_t(id0 + i));
    store16(dst + 10, ipv4HeaderChecksum(dst, info.ihl));
    uint8_t* t = dst + info.ihl;
    store32(t + 4, seq0 + uint32_t(off));
    uint8_t f = flags;
    if (i + 1 < count) f &= uint8_t(~(kTcpFin | kTcpPsh));
    if (i > 0) f &= uint8_t(~kTcpCwr);
    t[13] = f;
    // Pseudo-header + TCP header (checksum field skipped) + the payload summed while copying; the
    // TCP header length is a multiple of 4, so the payload's sum starts on an even offset.
    uint32_t sum = pseudoHeaderSum(info.src, info.dst, 6, segLen - info.ihl);
    sum = sumBytes(t, 16, sum);
    sum = sumBytes(t + 18, thl - 18, sum);
    store16(t + 16, finishChecksum(sum + payloadSum));  // both well below 2^31: no overflow
    out[i] = {dst, segLen};
    dst += segLen;
  }
  return int(count);
}

namespace {

// The coalescing candidate test: an IPv4 (no options, not a fragment) TCP segment with payload,
// flags ACK or ACK|PSH, and a valid TCP checksum (a coalesced packet's checksum is recomputed by
// the kernel from ours, so a corrupt segment must not be hidden inside one). Returns the header
// length, or 0 when the packet is passed through alone.
size_t candidateHeaderLength(const uint8_t* pkt, size_t len, size_t* payload) {
  Ipv4Info info;
  if (!parseIpv4(pkt, len, &info) || info.protocol != 6 || info.ihl != 20 || info.totalLength != len) return 0;
  if ((info.fragField & 0x3fff) != 0 || len < 40) return 0;
  const uint8_t* tcp = pkt + 20;
  size_t thl = size_t(tcp[12] >> 4) * 4;
  if (thl < 20 || 20 + thl >= len) return 0;
  uint8_t flags = tcp[13];
  if ((flags & (kTcpSyn | kTcpFin | kTcpRst | kTcpUrg | kTcpEce | kTcpCwr)) != 0 || !(flags & kTcpAck)) return 0;
  if (finishChecksum(sumBytes(tcp, len - 20, pseudoHeaderSum(info.src, info.dst, 6, len - 20))) != 0) return 0;
  *payload = len - 20 - thl;
  return 20 + thl;
}

}  // namespace

bool TcpCoalescer::sameFlowHeaders(const Item& item, const uint8_t* pkt, size_t hdrLen) {
  const uint8_t* a = item.first;
  if (item.hdrLen != hdrLen) return false;
  if (a[1] != pkt[1] || a[8] != pkt[8] || (a[6] & 0x40) != (pkt[6] & 0x40)) return false;  // TOS, TTL, DF
  if (memcmp(a + 12, pkt + 12, 8) != 0) return false;                                       // addresses
  if (memcmp(a + 20, pkt + 20, 4) != 0) return false;                                       // ports
  if (memcmp(a + 28, pkt + 28, 4) != 0) return false;                                       // ACK number
  return memcmp(a + 40, pkt + 40, hdrLen - 40) == 0;                                        // TCP options
}

TcpCoalescer::Item* TcpCoalescer::openItemFor(const uint8_t* pkt) {
  // Newest first: the open super-packet of a flow is its latest item.
  for (size_t i = heldItems_; i-- > 0;) {
    Item& item = items_[i];
    if (item.hdrLen == 0) continue;
    if (memcmp(item.first + 12, pkt + 12, 8) == 0 && memcmp(item.first + 20, pkt + 20, 4) == 0) {
      return item.open ? &item : nullptr;
    }
  }
  return nullptr;
}

void TcpCoalescer::add(const uint8_t* pkt, size_t len) {
  size_t payload = 0;
  size_t hdrLen = candidateHeaderLength(pkt, len, &payload);
  if (hdrLen != 0) {
    Item* item = openItemFor(pkt);
    if (item != nullptr) {
      bool joins = sameFlowHeaders(*item, pkt, hdrLen) && load32(pkt + 24) == item->nextSeq &&
                   payload <= item->gsoSize && item->totalLen + payload <= 65535 &&
                   item->extra.size() + 1 < kMaxCoalescedSegments;
      if (joins) {
        item->extra.push_back({const_cast<uint8_t*>(pkt) + hdrLen, payload});
        item->nextSeq += uint32_t(payload);
        item->totalLen += payload;
        if (payload < item->gsoSize || (pkt[33] & kTcpPsh)) item->open = false;
        return;
      }
      item->open = false;  // out of order or different headers: later segments start afresh
    }
  }
  if (heldItems_ == items_.size()) items_.emplace_back();
  Item& item = items_[heldItems_++];
  item.first = pkt;
  item.firstLen = len;
  item.hdrLen = hdrLen;
  item.gsoSize = uint16_t(payload);
  item.nextSeq = hdrLen ? load32(pkt + 24) + uint32_t(payload) : 0;
  item.totalLen = len;
  item.open = hdrLen != 0 && !(pkt[33] & kTcpPsh);
  item.extra.clear();
}

void TcpCoalescer::flush(std::vector<Output>* out, std::vector<iovec>* iovs) {
  out->clear();
  iovs->clear();
  headerScratch_.resize(heldItems_ * 128);  // IPv4 without options (20) + TCP header (<= 60)
  for (size_t i = 0; i < heldItems_; i++) {
    Item& item = items_[i];
    Output o{};
    o.iovStart = iovs->size();
    o.length = item.totalLen;
    if (item.extra.empty()) {
      iovs->push_back({const_cast<uint8_t*>(item.first), item.firstLen});
    } else {
      // The super-packet's headers: the first segment's, with the new total length and IP
      // checksum, PSH from the last segment, and the TCP checksum left partial for the kernel.
      uint8_t* h = headerScratch_.data() + i * 128;
      memcpy(h, item.first, item.hdrLen);
      store16(h + 2, uint16_t(item.totalLen));
      store16(h + 10, ipv4HeaderChecksum(h, 20));
      const iovec& last = item.extra.back();
      const uint8_t* lastPkt = static_cast<const uint8_t*>(last.iov_base) - item.hdrLen;
      h[33] |= lastPkt[33] & kTcpPsh;
      uint32_t psum = pseudoHeaderSum(load32(h + 12), load32(h + 16), 6, item.totalLen - 20);
      store16(h + 36, uint16_t(~finishChecksum(psum)));
      o.hdr.flags = kVnetFlagNeedsCsum;
      o.hdr.gsoType = kVnetGsoTcpv4;
      o.hdr.hdrLen = uint16_t(item.hdrLen);
      o.hdr.gsoSize = item.gsoSize;
      o.hdr.csumStart = 20;
      o.hdr.csumOffset = 16;
      iovs->push_back({h, item.hdrLen});
      iovs->push_back({const_cast<uint8_t*>(item.first) + item.hdrLen, item.firstLen - item.hdrLen});
      iovs->insert(iovs->end(), item.extra.begin(), item.extra.end());
    }
    o.iovCount = iovs->size() - o.iovStart;
    out->push_back(o);
  }
  heldItems_ = 0;
}

}  // namespace kdp
