// The batched engine's outgoing datagrams for one sendmmsg: the segments of TUN packets grouped
// into messages, one per datagram, or with UDP GSO one per run of equal-size segments for a peer
// (a UDP_SEGMENT cmsg each). Only builds the mmsghdr array; engine_batched.cc sends it.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "offload.h"

namespace kdp {

// UDP_MAX_SEGMENTS on older kernels (newer ones take 128).
constexpr size_t kGsoMaxSegments = 64;
// One UDP_SEGMENT send is one large IPv4 datagram before segmentation: 65535 - IP - UDP headers.
constexpr size_t kGsoMaxBytes = 65535 - 20 - 8;

struct SendBatch {
  SendBatch(size_t maxMsgs, size_t maxIov);

  // Queues the forwarded segments of one TUN packet (peers[i] is segs[i]'s node, host order):
  // with gso, each run for one peer whose segments share a size (the last may be shorter) becomes
  // one message; otherwise one message per segment. The caller keeps room: n <= free slots.
  void queue(const Segment* segs, const uint32_t* peers, size_t n, uint16_t port, bool gso);
  void clear() { msgCount = iovCount = 0; }

  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_in> peers;
  std::vector<uint64_t> bytes;  // per message
  std::vector<uint32_t> segs;   // inner packets per message
  union Cmsg {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    cmsghdr align;
  };
  std::vector<Cmsg> cmsgs;
  size_t msgCount = 0, iovCount = 0;

 private:
  void add(uint32_t peer, const Segment* s, size_t n, uint16_t port, bool gso);
};

}  // namespace kdp
