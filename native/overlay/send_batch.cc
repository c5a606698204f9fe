// Builds the batched engine's sendmmsg array (see send_batch.h).
#include "send_batch.h"

#include <arpa/inet.h>
#include <netinet/udp.h>

#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace kdp {

SendBatch::SendBatch(size_t maxMsgs, size_t maxIov)
    : msgs(maxMsgs), iovs(maxIov), peers(maxMsgs), bytes(maxMsgs), segs(maxMsgs), cmsgs(maxMsgs) {}

void SendBatch::add(uint32_t peer, const Segment* s, size_t n, uint16_t port, bool gso) {
  mmsghdr& m = msgs[msgCount];
  memset(&m, 0, sizeof(m));
  sockaddr_in& to = peers[msgCount];
  to = sockaddr_in{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(peer);
  m.msg_hdr.msg_name = &to;
  m.msg_hdr.msg_namelen = sizeof(to);
  m.msg_hdr.msg_iov = &iovs[iovCount];
  m.msg_hdr.msg_iovlen = n;
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    iovs[iovCount++] = {s[i].data, s[i].len};
    total += s[i].len;
  }
  if (gso && n > 1) {
    m.msg_hdr.msg_control = cmsgs[msgCount].buf;
    m.msg_hdr.msg_controllen = sizeof(cmsgs[msgCount].buf);
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t size = uint16_t(s[0].len);
    memcpy(CMSG_DATA(c), &size, sizeof(size));
  }
  bytes[msgCount] = total;
  segs[msgCount] = uint32_t(n);
  msgCount++;
}

void SendBatch::queue(const Segment* s, const uint32_t* to, size_t n, uint16_t port, bool gso) {
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    if (gso) {
      size_t total = s[i].len;
      while (j < n && j - i < kGsoMaxSegments && to[j] == to[i] && s[j - 1].len == s[i].len && s[j].len <= s[i].len &&
             total + s[j].len <= kGsoMaxBytes) {
        total += s[j].len;
        j++;
      }
    }
    add(to[i], s + i, j - i, port, gso);
    i = j;
  }
}

}  // namespace kdp
