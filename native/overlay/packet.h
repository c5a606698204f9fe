// The per-packet rules every engine applies (baseline, batched, and engineProcess for tests), as
// pure functions over byte buffers: IPv4 parsing, checksums, TTL decrement, ICMP errors, and the
// two forwarding decisions (TUN -> UDP, UDP -> TUN). The semantics are written down in README.md
// and mirrored byte for byte by dataplane/overlay/backends/udp/packet-core.ts.
#pragma once
#include <cstddef>
#include <cstdint>

#include "route_table.h"

namespace kdp {

// Order and names match DROP_REASONS in dataplane/overlay/backends/udp/engine.ts.
enum class DropReason : int { NoRoute = 0, TtlExpired, Malformed, UnknownPeer, NotLocal, IoError, Count };
extern const char* const kDropReasonNames[static_cast<int>(DropReason::Count)];

// The IPv4 header fields the engines look at; addresses in host byte order.
struct Ipv4Info {
  size_t ihl;          // header length in bytes
  size_t totalLength;  // from the header, <= the buffer length
  uint8_t ttl;
  uint8_t protocol;
  uint16_t fragField;  // flags + fragment offset, host order
  uint32_t src;
  uint32_t dst;
};

// False when the buffer is not a well-formed IPv4 packet: shorter than 20 bytes, version != 4,
// IHL < 5, header longer than the buffer, total length < IHL or > the buffer.
bool parseIpv4(const uint8_t* p, size_t len, Ipv4Info* out);

// One's-complement sum of bytes (16-bit big-endian words, odd tail padded), not folded.
uint32_t sumBytes(const uint8_t* p, size_t len, uint32_t initial = 0);
// Copies len bytes from src to dst and returns sumBytes(src, len) (initial 0), in one pass.
uint32_t copyAndSum(uint8_t* dst, const uint8_t* src, size_t len);
// Folds a 32-bit sum to 16 bits and complements it: the value stored in a checksum field.
uint16_t finishChecksum(uint32_t sum);
// The IPv4 header checksum of p[0..ihl) as stored (the field itself treated as zero).
uint16_t ipv4HeaderChecksum(const uint8_t* p, size_t ihl);
// Sum of the TCP/UDP pseudo-header (src, dst, protocol, L4 length), not folded.
uint32_t pseudoHeaderSum(uint32_t src, uint32_t dst, uint8_t protocol, size_t l4Length);

// Decrements TTL in place and fixes the header checksum incrementally (RFC 1624 eqn. 3).
void decrementTtl(uint8_t* p);

inline uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t load32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline void store16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void store32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// This node's side of the forwarding decision.
struct LocalConfig {
  uint32_t subnet = 0;   // network address of the node's pod subnet
  uint32_t mask = 0;     // its netmask
  uint32_t gateway = 0;  // first host of the subnet (cni0's address): source of ICMP errors
  bool inSubnet(uint32_t ip) const { return (ip & mask) == subnet; }
};

// Largest ICMP error we build: 20 (IP) + 8 (ICMP) + 60 (offending header, max IHL) + 8.
constexpr size_t kMaxIcmpError = 20 + 8 + 60 + 8;

// Builds an ICMP error (type/code) about `orig` into out (kMaxIcmpError bytes) and returns its
// length, or 0 when none may be sent: the offending packet is itself an ICMP error or a non-first
// fragment. Source = local.gateway, TTL 64, id 0, DF clear, TOS 0xc0, payload = offending header +
// its first 8 data bytes (fewer if the packet is shorter).
size_t buildIcmpError(uint8_t* out, const uint8_t* orig, const Ipv4Info& info, uint8_t type, uint8_t code,
                      const LocalConfig& local);

// The outcome of one packet.
struct Decision {
  bool forward = false;      // true: send/write the packet (modified in place for TUN -> UDP)
  DropReason reason{};       // when !forward
  uint32_t peer = 0;         // TUN -> UDP: the node address to send to
  size_t icmpLength = 0;     // > 0: an ICMP error was built into the icmp buffer, write it to the TUN
};

// A packet read from the TUN: TTL <= 1 -> time exceeded + 'ttl-expired'; destination in the local
// subnet or with no route -> net unreachable + 'no-route'; else TTL decremented in place and
// forward to the route's node. `icmp` must hold kMaxIcmpError bytes.
Decision processFromTun(uint8_t* pkt, size_t len, const RouteTable& routes, const LocalConfig& local, uint8_t* icmp);

// A datagram payload from node address `src`: unknown source -> 'unknown-peer'; malformed ->
// 'malformed'; inner destination outside the local subnet -> 'not-local'; else forward unchanged.
Decision processFromUdp(uint32_t src, const uint8_t* pkt, size_t len, const RouteTable& routes,
                        const LocalConfig& local);

}  // namespace kdp
