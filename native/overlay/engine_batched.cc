// The fast engine: one native thread per direction, epoll, and as few syscalls per byte as the
// kernel allows. TUN -> UDP: the TUN (IFF_VNET_HDR + TUNSETOFFLOAD) hands over TCP super-packets of
// up to 64 KB; each is cut into MTU-sized inner packets and the segments for one peer go out as ONE
// sendmsg with UDP_SEGMENT, many such messages per sendmmsg. UDP -> TUN: recvmmsg with UDP_GRO
// returns runs of datagrams from one sender in one buffer; they are split by the gso_size cmsg and
// in-order TCP segments are coalesced back into super-packets written with a GSO vnet header.
// Each UDP datagram still carries exactly one inner packet, so the wire format is flannel's and the
// baseline and TypeScript engines interoperate. Every offload the kernel refuses falls back to the
// plain path and is listed in status().fallbacks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "engine.h"
#include "offload.h"
#include "send_batch.h"
#include "sys_error.h"
#include "tun.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace kdp {

namespace {

constexpr size_t kMaxRead = 65535 + kVnetHdrLen + 64;  // largest IPv4 packet + vnet header, rounded
constexpr size_t kTunBatch = 64;                       // TUN reads per round before sending
constexpr size_t kArenaSize = 1 << 20;                 // reads + segments of one round (stays in cache)
constexpr size_t kMaxSegments = 256;                   // per super-packet (64 KB / small MSS)
constexpr size_t kSegmentArena = 65535 + kMaxSegments * 120;
constexpr size_t kMaxMsgs = 1024;                      // sendmmsg's limit (UIO_MAXIOV)
constexpr size_t kMaxIov = 8192;
constexpr size_t kUdpBatch = 16;                       // recvmmsg messages of up to 64 KB each

class BatchedEngine : public Engine {
 public:
  explicit BatchedEngine(const EngineConfig& config) : Engine(config) {
    try {
      openFds();
    } catch (...) {
      close();
      throw;
    }
    startThread("kdp-tun", [this] { tunLoop(); });
    startThread("kdp-udp", [this] { udpLoop(); });
  }
  ~BatchedEngine() override { close(); }

 private:
  bool vnetHdr_ = false;
  std::atomic<bool> gso_{false};

  void openFds() {
    vnetHdr_ = config_.offload;
    tunFd_ = openTun(config_.tunName, TunOptions{vnetHdr_, false});
    udpFd_ = openUdpSocket(config_.localIp, config_.port);
    wakeFd_ = openWakeFd();
    tunEpoll_ = makeEpoll(tunFd_);
    udpEpoll_ = makeEpoll(udpFd_);
    if (!config_.offload) return;
    if (enableTunOffload(tunFd_)) {
      status_.tunOffload = true;
    } else {
      status_.fallbacks.push_back(errnoMessage("TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4", errno));
    }
    if (probeUdpGso(udpFd_)) {
      status_.udpGso = true;
      gso_.store(true);
    } else {
      status_.fallbacks.push_back(errnoMessage("setsockopt UDP_SEGMENT", errno));
    }
    if (enableUdpGro(udpFd_)) {
      status_.udpGro = true;
    } else {
      status_.fallbacks.push_back(errnoMessage("setsockopt UDP_GRO", errno));
    }
  }

  // Each loop thread sleeps in epoll_wait (level-triggered) on its data fd and the wake eventfd;
  // the sets are created with the engine so that a failure is reported by createEngine.
  int tunEpoll_ = -1, udpEpoll_ = -1;

  int makeEpoll(int fd) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) throw SysError("epoll_create1", errno);
    ownedFds_.push_back(ep);
    for (int f : {fd, wakeFd_}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = f;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev) < 0) throw SysError("epoll_ctl", errno);
    }
    return ep;
  }

  // Waits until the loop's data fd is readable; false when the engine is closing.
  bool waitReadable(int ep) {
    epoll_event events[2];
    while (!stopping_.load(std::memory_order_relaxed)) {
      int n = epoll_wait(ep, events, 2, -1);
      if (n < 0 && errno != EINTR) return false;
      for (int i = 0; i < n; i++) {
        if (events[i].data.fd == wakeFd_) return false;
      }
      if (n > 0) return true;
    }
    return false;
  }

  // Waits for send buffer space on the socket (rare: only when the kernel pushes back); false when
  // the engine is closing.
  bool waitWritable() {
    pollfd fds[2] = {{udpFd_, POLLOUT, 0}, {wakeFd_, POLLIN, 0}};
    while (!stopping_.load(std::memory_order_relaxed)) {
      int r = poll(fds, 2, -1);
      if (r < 0 && errno != EINTR) return false;
      if (fds[1].revents) return false;
      if (fds[0].revents) return true;
    }
    return false;
  }

  // Writes one packet to the TUN: a vnet header first when the TUN takes one.
  void writeTun(const VnetHdr& hdr, iovec* iov, size_t iovCount, size_t length, size_t packets, bool icmp) {
    iovec all[1 + kMaxCoalescedIov];
    size_t n = 0;
    if (vnetHdr_) all[n++] = {const_cast<VnetHdr*>(&hdr), kVnetHdrLen};
    for (size_t i = 0; i < iovCount; i++) all[n++] = iov[i];
    if (writev(tunFd_, all, int(n)) < 0) {
      counters_.drop(DropReason::IoError, packets);
      return;
    }
    Counters::add(counters_.tunTxPackets, packets);
    Counters::add(counters_.tunTxBytes, length);
    if (icmp) Counters::add(counters_.icmpSent, 1);
  }

  // ---- TUN -> UDP ----

  // Sends a message whose GSO send the kernel refused as separate datagrams, and stops using GSO.
  void resendWithoutGso(SendBatch& b, size_t idx, int err) {
    if (gso_.exchange(false)) {
      std::lock_guard<std::mutex> lock(statusMutex_);
      status_.udpGso = false;
      status_.fallbacks.push_back(errnoMessage("sendmsg UDP_SEGMENT", err));
    }
    msghdr& h = b.msgs[idx].msg_hdr;
    for (size_t i = 0; i < h.msg_iovlen; i++) {
      msghdr one{};
      one.msg_name = h.msg_name;
      one.msg_namelen = h.msg_namelen;
      one.msg_iov = &h.msg_iov[i];
      one.msg_iovlen = 1;
      if (sendmsg(udpFd_, &one, 0) < 0) {
        counters_.drop(DropReason::IoError);
      } else {
        Counters::add(counters_.udpTxPackets, 1);
        Counters::add(counters_.udpTxBytes, h.msg_iov[i].iov_len);
      }
    }
  }

  void flushSends(SendBatch& b) {
    size_t i = 0;
    while (i < b.msgCount) {
      int r = sendmmsg(udpFd_, &b.msgs[i], unsigned(b.msgCount - i), 0);
      if (r > 0) {
        uint64_t segs = 0;
        for (size_t k = i; k < i + size_t(r); k++) {
          Counters::add(counters_.udpTxBytes, b.bytes[k]);
          segs += b.segs[k];
        }
        Counters::add(counters_.udpTxPackets, segs);
        counters_.batch(segs);
        i += size_t(r);
        continue;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        if (!waitWritable()) break;
        continue;
      }
      if (b.msgs[i].msg_hdr.msg_controllen != 0 && (err == EIO || err == EINVAL || err == EOPNOTSUPP)) {
        resendWithoutGso(b, i, err);
      } else {
        counters_.drop(DropReason::IoError, b.segs[i]);
      }
      i++;
    }
    b.clear();
  }

  void tunLoop() {
    std::vector<uint8_t> arena(kArenaSize);
    SendBatch batch(kMaxMsgs, kMaxIov);
    std::vector<Segment> segs(kMaxSegments);
    std::vector<uint32_t> peers(kMaxSegments);
    uint8_t icmp[kMaxIcmpError];
    const VnetHdr zeroHdr{};
    while (waitReadable(tunEpoll_)) {
      bool drained = false;
      while (!drained && !stopping_.load(std::memory_order_relaxed)) {
        std::shared_ptr<const RouteTable> routes = routes_.load();
        size_t used = 0, reads = 0;
        while (reads < kTunBatch) {
          if (kArenaSize - used < kMaxRead + kSegmentArena || batch.msgCount + kMaxSegments > kMaxMsgs ||
              batch.iovCount + kMaxSegments > kMaxIov)
            break;
          uint8_t* buf = arena.data() + used;
          ssize_t n = read(tunFd_, buf, kMaxRead);
          if (n < 0) {
            drained = true;  // EAGAIN: the TUN is empty
            break;
          }
          reads++;
          used += size_t(n);
          uint8_t* pkt = buf;
          size_t len = size_t(n);
          VnetHdr hdr{};
          if (vnetHdr_) {
            if (len < kVnetHdrLen) {
              Counters::add(counters_.tunRxPackets, 1);
              Counters::add(counters_.tunRxBytes, len);
              counters_.drop(DropReason::Malformed);
              continue;
            }
            memcpy(&hdr, buf, kVnetHdrLen);
            pkt += kVnetHdrLen;
            len -= kVnetHdrLen;
          }
          int count = splitTunPacket(pkt, len, hdr, arena.data() + used, kSegmentArena, segs.data(), kMaxSegments);
          if (count < 0) {
            Counters::add(counters_.tunRxPackets, 1);
            Counters::add(counters_.tunRxBytes, len);
            counters_.drop(DropReason::Malformed);
            continue;
          }
          if (segs[0].data != pkt) {
            for (int s = 0; s < count; s++) used += segs[s].len;  // segments were written after the read
          }
          size_t fwd = 0;
          for (int s = 0; s < count; s++) {
            Counters::add(counters_.tunRxPackets, 1);
            Counters::add(counters_.tunRxBytes, segs[s].len);
            Decision d = processFromTun(segs[s].data, segs[s].len, *routes, config_.local, icmp);
            if (d.forward) {
              segs[fwd] = segs[s];
              peers[fwd++] = d.peer;
              continue;
            }
            counters_.drop(d.reason);
            if (d.icmpLength > 0) {
              iovec iov{icmp, d.icmpLength};
              writeTun(zeroHdr, &iov, 1, d.icmpLength, 1, true);
            }
          }
          batch.queue(segs.data(), peers.data(), fwd, config_.port, gso_.load(std::memory_order_relaxed));
        }
        if (reads > 0) counters_.batch(reads);
        flushSends(batch);
      }
    }
  }

  // ---- UDP -> TUN ----

  void udpLoop() {
    std::vector<uint8_t> bufs(kUdpBatch * 65536);
    std::vector<mmsghdr> msgs(kUdpBatch);
    std::vector<iovec> iovs(kUdpBatch);
    std::vector<sockaddr_in> from(kUdpBatch);
    union Cmsg {
      char buf[CMSG_SPACE(sizeof(int))];
      cmsghdr align;
    };
    std::vector<Cmsg> cmsgs(kUdpBatch);
    TcpCoalescer coalescer;
    std::vector<TcpCoalescer::Output> outputs;
    std::vector<iovec> outIovs;
    const VnetHdr zeroHdr{};
    while (waitReadable(udpEpoll_)) {
      while (!stopping_.load(std::memory_order_relaxed)) {
        for (size_t i = 0; i < kUdpBatch; i++) {
          iovs[i] = {bufs.data() + i * 65536, 65536};
          memset(&msgs[i], 0, sizeof(mmsghdr));
          msgs[i].msg_hdr.msg_name = &from[i];
          msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
          msgs[i].msg_hdr.msg_iov = &iovs[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_control = cmsgs[i].buf;
          msgs[i].msg_hdr.msg_controllen = sizeof(cmsgs[i].buf);
        }
        int r = recvmmsg(udpFd_, msgs.data(), unsigned(kUdpBatch), MSG_DONTWAIT, nullptr);
        if (r <= 0) break;  // EAGAIN: wait for more
        std::shared_ptr<const RouteTable> routes = routes_.load();
        uint64_t datagrams = 0;
        for (int i = 0; i < r; i++) {
          uint8_t* data = static_cast<uint8_t*>(iovs[i].iov_base);
          size_t len = msgs[i].msg_len;
          size_t gsoSize = len;
          for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
              int v;
              memcpy(&v, CMSG_DATA(c), sizeof(v));
              if (v > 0) gsoSize = size_t(v);
            }
          }
          uint32_t src = ntohl(from[i].sin_addr.s_addr);
          if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len == 0) {
            Counters::add(counters_.udpRxPackets, 1);
            Counters::add(counters_.udpRxBytes, len);
            // An empty datagram is judged like any other (a stranger's is unknown-peer, as in the
            // baseline loop); a truncated one never came from a peer's engine.
            bool truncated = msgs[i].msg_hdr.msg_flags & MSG_TRUNC;
            counters_.drop(truncated ? DropReason::Malformed
                                     : processFromUdp(src, data, 0, *routes, config_.local).reason);
            continue;
          }
          for (size_t off = 0; off < len; off += gsoSize) {
            size_t segLen = len - off < gsoSize ? len - off : gsoSize;
            datagrams++;
            Counters::add(counters_.udpRxPackets, 1);
            Counters::add(counters_.udpRxBytes, segLen);
            Decision d = processFromUdp(src, data + off, segLen, *routes, config_.local);
            if (!d.forward) {
              counters_.drop(d.reason);
            } else if (vnetHdr_) {
              coalescer.add(data + off, segLen);
            } else {
              iovec iov{data + off, segLen};
              writeTun(zeroHdr, &iov, 1, segLen, 1, false);
            }
          }
        }
        counters_.batch(datagrams);
        if (vnetHdr_) {
          coalescer.flush(&outputs, &outIovs);
          for (const TcpCoalescer::Output& o : outputs) {
            // Counted as the inner packets that arrived (each with its own headers), as every engine counts.
            size_t packets = o.hdr.gsoType == kVnetGsoNone ? 1 : o.iovCount - 1;
            size_t bytes = o.length + (packets - 1) * o.hdr.hdrLen;
            writeTun(o.hdr, &outIovs[o.iovStart], o.iovCount, bytes, packets, false);
          }
        }
      }
    }
  }
};

}  // namespace

std::unique_ptr<Engine> createBatchedEngine(const EngineConfig& config) {
  return std::make_unique<BatchedEngine>(config);
}

}  // namespace kdp
