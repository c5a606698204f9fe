// IPv4 parsing, checksums (RFC 1071 sums, RFC 1624 incremental update), ICMP errors (RFC 792) and
// the two forwarding decisions. No I/O and no allocation: the loops call these per packet.
#include "packet.h"

#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "sumBytes assumes a little-endian host");

namespace kdp {

const char* const kDropReasonNames[static_cast<int>(DropReason::Count)] = {
    "no-route", "ttl-expired", "malformed", "unknown-peer", "not-local", "io-error",
};

bool parseIpv4(const uint8_t* p, size_t len, Ipv4Info* out) {
  if (len < 20 || (p[0] >> 4) != 4) return false;
  size_t ihl = size_t(p[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > len) return false;
  size_t total = load16(p + 2);
  if (total < ihl || total > len) return false;
  out->ihl = ihl;
  out->totalLength = total;
  out->ttl = p[8];
  out->protocol = p[9];
  out->fragField = load16(p + 6);
  out->src = load32(p + 12);
  out->dst = load32(p + 16);
  return true;
}

namespace {

// Adds 64-bit words with the carry folded back in (end-around carry): one's-complement addition
// eight bytes at a time.
inline uint64_t addCarry(uint64_t sum, uint64_t w) {
  uint64_t r;
  return __builtin_add_overflow(sum, w, &r) ? r + 1 : r;
}

// Folds a 64-bit one's-complement sum of little-endian words to 16 bits in network byte order.
inline uint32_t foldToNetwork(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t((sum << 8) | (sum >> 8));
}

}  // namespace

uint32_t sumBytes(const uint8_t* p, size_t len, uint32_t initial) {
  // The one's-complement sum does not depend on byte order (RFC 1071 2.B): add the buffer as native
  // (little-endian) 64-bit words with end-around carry, fold to 16 bits, and swap the two bytes
  // back into network order. Every byte of a 64 KB super-packet is summed once per direction on the
  // offload path, so this is worth the care.
  uint64_t a = 0, b = 0;
  size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    uint64_t w[4];
    memcpy(w, p + i, 32);
    a = addCarry(addCarry(a, w[0]), w[1]);
    b = addCarry(addCarry(b, w[2]), w[3]);
  }
  a = addCarry(a, b);
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    a = addCarry(a, w);
  }
  uint64_t tail = 0;
  memcpy(&tail, p + i, len - i);  // the last < 8 bytes, zero padded as RFC 1071 pads an odd byte
  a = addCarry(a, tail);
  return foldToNetwork(a) + initial;  // callers fold the total with finishChecksum
}

uint32_t copyAndSum(uint8_t* dst, const uint8_t* src, size_t len) {
  // sumBytes fused with the copy: one pass over the bytes instead of two (segmentation copies every
  // payload byte and needs its checksum).
  uint64_t a = 0, b = 0;
  size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    uint64_t w[4];
    memcpy(w, src + i, 32);
    memcpy(dst + i, w, 32);
    a = addCarry(addCarry(a, w[0]), w[1]);
    b = addCarry(addCarry(b, w[2]), w[3]);
  }
  memcpy(dst + i, src + i, len - i);
  return foldToNetwork(addCarry(a, b)) + sumBytes(src + i, len - i, 0);  // the tail starts at an even offset
}

uint16_t finishChecksum(uint32_t sum) {
  uint64_t s = sum;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s & 0xffff);
}

uint16_t ipv4HeaderChecksum(const uint8_t* p, size_t ihl) {
  uint32_t sum = sumBytes(p, 10);
  sum = sumBytes(p + 12, ihl - 12, sum);
  return finishChecksum(sum);
}

uint32_t pseudoHeaderSum(uint32_t src, uint32_t dst, uint8_t protocol, size_t l4Length) {
  uint64_t s = uint64_t(src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + protocol + l4Length;
  while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
  return uint32_t(s);
}

void decrementTtl(uint8_t* p) {
  // The 16-bit word holding TTL (high byte) and protocol changes from m to m' = m - 0x100;
  // HC' = ~(~HC + ~m + m') (RFC 1624 eqn. 3), which stays correct at the 0x0000/0xffff edge.
  uint16_t oldWord = load16(p + 8);
  p[8] = uint8_t(p[8] - 1);
  uint16_t newWord = load16(p + 8);
  uint32_t sum = uint32_t(uint16_t(~load16(p + 10))) + uint16_t(~oldWord) + newWord;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  store16(p + 10, uint16_t(~sum));
}

namespace {

bool isIcmpError(const uint8_t* p, const Ipv4Info& info) {
  if (info.protocol != 1) return false;
  if (info.totalLength < info.ihl + 1) return false;  // no type byte: not an error message we know
  switch (p[info.ihl]) {
    case 3:   // destination unreachable
    case 4:   // source quench
    case 5:   // redirect
    case 11:  // time exceeded
    case 12:  // parameter problem
      return true;
    default:
      return false;
  }
}

}  // namespace

size_t buildIcmpError(uint8_t* out, const uint8_t* orig, const Ipv4Info& info, uint8_t type, uint8_t code,
                      const LocalConfig& local) {
  if ((info.fragField & 0x1fff) != 0) return 0;  // non-first fragment (RFC 1812 4.3.2.7)
  if (isIcmpError(orig, info)) return 0;         // never an error about an error (RFC 792)
  size_t quoted = info.ihl + 8;
  if (quoted > info.totalLength) quoted = info.totalLength;
  size_t total = 20 + 8 + quoted;
  memset(out, 0, 28);
  out[0] = 0x45;
  out[1] = 0xc0;  // internetwork control, as routers send their ICMP
  store16(out + 2, uint16_t(total));
  out[8] = 64;
  out[9] = 1;
  store32(out + 12, local.gateway);
  store32(out + 16, info.src);
  store16(out + 10, ipv4HeaderChecksum(out, 20));
  uint8_t* icmp = out + 20;
  icmp[0] = type;
  icmp[1] = code;
  memcpy(icmp + 8, orig, quoted);
  store16(icmp + 2, finishChecksum(sumBytes(icmp, 8 + quoted)));
  return total;
}

Decision processFromTun(uint8_t* pkt, size_t len, const RouteTable& routes, const LocalConfig& local, uint8_t* icmp) {
  Decision d;
  Ipv4Info info;
  if (!parseIpv4(pkt, len, &info)) {
    d.reason = DropReason::Malformed;
    return d;
  }
  if (info.ttl <= 1) {
    d.reason = DropReason::TtlExpired;
    d.icmpLength = buildIcmpError(icmp, pkt, info, 11, 0, local);
    return d;
  }
  uint32_t peer = local.inSubnet(info.dst) ? 0 : routes.lookup(info.dst);
  if (peer == 0) {
    d.reason = DropReason::NoRoute;
    d.icmpLength = buildIcmpError(icmp, pkt, info, 3, 0, local);
    return d;
  }
  decrementTtl(pkt);
  d.forward = true;
  d.peer = peer;
  return d;
}

Decision processFromUdp(uint32_t src, const uint8_t* pkt, size_t len, const RouteTable& routes,
                        const LocalConfig& local) {
  Decision d;
  Ipv4Info info;
  if (!routes.isNode(src)) {
    d.reason = DropReason::UnknownPeer;
  } else if (!parseIpv4(pkt, len, &info)) {
    d.reason = DropReason::Malformed;
  } else if (!local.inSubnet(info.dst)) {
    d.reason = DropReason::NotLocal;
  } else {
    d.forward = true;
  }
  return d;
}

}  // namespace kdp
