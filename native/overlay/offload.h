// The offload path's packet work: the virtio_net_hdr that IFF_VNET_HDR puts before every TUN
// packet, finishing partial checksums, TSO segmentation of TCP/IPv4 super-packets into MTU-sized
// packets (TUN -> UDP), and GRO-style coalescing of in-order TCP segments back into one
// super-packet (UDP -> TUN). Pure functions over buffers, shared by engine_batched.cc and the
// engineProcess test entry.
#pragma once
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kdp {

// struct virtio_net_hdr (linux/virtio_net.h), host byte order as the TUN uses by default.
struct VnetHdr {
  uint8_t flags;
  uint8_t gsoType;
  uint16_t hdrLen;
  uint16_t gsoSize;
  uint16_t csumStart;
  uint16_t csumOffset;
} __attribute__((packed));
static_assert(sizeof(VnetHdr) == 10, "virtio_net_hdr is 10 bytes");
constexpr size_t kVnetHdrLen = sizeof(VnetHdr);
constexpr uint8_t kVnetFlagNeedsCsum = 1;
constexpr uint8_t kVnetGsoNone = 0;
constexpr uint8_t kVnetGsoTcpv4 = 1;
constexpr uint8_t kVnetGsoEcn = 0x80;

// At most this many segments are coalesced into one packet (wireguard-go's bound too); its writev
// then has up to kMaxCoalescedIov iovecs after the vnet header (headers, then one per segment).
constexpr size_t kMaxCoalescedSegments = 64;
constexpr size_t kMaxCoalescedIov = kMaxCoalescedSegments + 1;

struct Segment {
  uint8_t* data;
  size_t len;
};

// Turns one TUN read (the packet after its vnet header) into the packets to put on the wire:
// a non-GSO packet is returned as is (its partial checksum finished when NEEDS_CSUM is set); a
// GSO_TCPV4 packet is cut into gsoSize-payload segments written to `arena`, each with its own IP
// total length, id (+1 per segment), header checksum, TCP sequence number, flags (FIN/PSH only on
// the last, CWR only on the first) and full TCP checksum. Returns the number of segments, or -1
// when the header or packet is not something this can segment (counted as 'malformed').
int splitTunPacket(uint8_t* pkt, size_t len, const VnetHdr& hdr, uint8_t* arena, size_t arenaCap, Segment* out,
                   size_t maxSegments);

// Coalesces the TCP segments of one receive batch, as Linux GRO and wireguard-go do: a segment
// joins an open super-packet of its flow when addresses, ports, TOS, TTL, DF, ACK number and TCP
// options match, its sequence number follows on, its flags are ACK (+PSH, which closes the
// super-packet) and its payload is no longer than the first one's (a shorter one closes it).
// Anything else is passed through unchanged with a zero vnet header. Order within a flow is kept.
class TcpCoalescer {
 public:
  // One packet to write to the TUN: its vnet header, then iov[iovStart, iovStart + iovCount) of
  // flush()'s iovec list, in order.
  struct Output {
    VnetHdr hdr;
    size_t iovStart;
    size_t iovCount;
    size_t length;  // packet bytes (without the vnet header)
  };
  // Packets must stay valid until the outputs of flush() are written; they are not modified.
  void add(const uint8_t* pkt, size_t len);
  // Every held packet in the order its first segment arrived; resets the coalescer. The iovecs
  // point into the added packets and into header copies owned by this object (valid until the
  // next add()).
  void flush(std::vector<Output>* out, std::vector<iovec>* iovs);

 private:
  struct Item {
    const uint8_t* first;
    size_t firstLen;
    size_t hdrLen;  // IP + TCP header bytes; 0 when the packet is not a coalescing candidate
    uint16_t gsoSize;
    uint32_t nextSeq;
    size_t totalLen;
    bool open;
    std::vector<iovec> extra;  // payloads of the following segments
  };
  Item* openItemFor(const uint8_t* pkt);
  static bool sameFlowHeaders(const Item& item, const uint8_t* pkt, size_t hdrLen);
  std::vector<Item> items_;
  std::vector<uint8_t> headerScratch_;
  size_t heldItems_ = 0;
};

}  // namespace kdp
