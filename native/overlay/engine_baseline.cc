// The comparison baseline: flannel's udp backend proxy loop (proxy.c) in C++. One thread polls the
// TUN and the socket and moves one packet per read()/sendto() and recvfrom()/write(), alternating
// directions until both are drained, with the same route table and drop rules as the batched
// engine. Deliberately not optimised: it is what the batched engine is measured against.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "engine.h"
#include "tun.h"

namespace kdp {

namespace {

class BaselineEngine : public Engine {
 public:
  explicit BaselineEngine(const EngineConfig& config) : Engine(config) {
    try {
      tunFd_ = openTun(config.tunName, TunOptions{});
      udpFd_ = openUdpSocket(config.localIp, config.port);
      wakeFd_ = openWakeFd();
    } catch (...) {
      close();
      throw;
    }
    startThread("kdp-baseline", [this] { run(); });
  }
  ~BaselineEngine() override { close(); }

 private:
  // One packet TUN -> UDP; false when the TUN had nothing.
  bool tunToUdp(uint8_t* buf, size_t cap) {
    ssize_t n = read(tunFd_, buf, cap);
    if (n <= 0) return false;
    Counters::add(counters_.tunRxPackets, 1);
    Counters::add(counters_.tunRxBytes, uint64_t(n));
    counters_.batch(1);
    std::shared_ptr<const RouteTable> routes = routes_.load();
    uint8_t icmp[kMaxIcmpError];
    Decision d = processFromTun(buf, size_t(n), *routes, config_.local, icmp);
    if (!d.forward) {
      counters_.drop(d.reason);
      if (d.icmpLength > 0) writeTun(icmp, d.icmpLength, true);
      return true;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(config_.port);
    to.sin_addr.s_addr = htonl(d.peer);
    if (sendto(udpFd_, buf, size_t(n), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
      counters_.drop(DropReason::IoError);
    } else {
      Counters::add(counters_.udpTxPackets, 1);
      Counters::add(counters_.udpTxBytes, uint64_t(n));
    }
    return true;
  }

  // One datagram UDP -> TUN; false when the socket had nothing.
  bool udpToTun(uint8_t* buf, size_t cap) {
    sockaddr_in from{};
    socklen_t fromLen = sizeof(from);
    ssize_t n = recvfrom(udpFd_, buf, cap, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 0) return false;
    Counters::add(counters_.udpRxPackets, 1);
    Counters::add(counters_.udpRxBytes, uint64_t(n));
    counters_.batch(1);
    std::shared_ptr<const RouteTable> routes = routes_.load();
    Decision d = processFromUdp(ntohl(from.sin_addr.s_addr), buf, size_t(n), *routes, config_.local);
    if (!d.forward) {
      counters_.drop(d.reason);
      return true;
    }
    writeTun(buf, size_t(n), false);
    return true;
  }

  void writeTun(const uint8_t* p, size_t len, bool isIcmp) {
    if (write(tunFd_, p, len) < 0) {
      counters_.drop(DropReason::IoError);
      return;
    }
    Counters::add(counters_.tunTxPackets, 1);
    Counters::add(counters_.tunTxBytes, len);
    if (isIcmp) Counters::add(counters_.icmpSent, 1);
  }

  void run() {
    static thread_local uint8_t buf[65536];
    pollfd fds[3] = {{tunFd_, POLLIN, 0}, {udpFd_, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    while (!stopping_.load(std::memory_order_relaxed)) {
      int r = poll(fds, 3, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[2].revents) break;
      bool active = true;
      while (active && !stopping_.load(std::memory_order_relaxed)) {
        active = tunToUdp(buf, sizeof(buf));
        active = udpToTun(buf, sizeof(buf)) || active;
      }
    }
  }
};

}  // namespace

std::unique_ptr<Engine> createBaselineEngine(const EngineConfig& config) {
  return std::make_unique<BaselineEngine>(config);
}

}  // namespace kdp
