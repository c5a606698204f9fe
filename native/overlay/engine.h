// What both native engines share: configuration, counters (atomics the JS thread reads while the
// loop runs), offload status, the route table reference, and the lifecycle (fds, threads, close).
#pragma once
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "packet.h"
#include "route_table.h"
#include "udp.h"

namespace kdp {

struct EngineConfig {
  std::string tunName;
  uint32_t localIp = 0;
  uint16_t port = 0;
  int mtu = 0;
  LocalConfig local;
  bool offload = true;
};

// Batch size histogram buckets: packets per batch <= 1, 2, 4, ... 64, then "more".
constexpr int kBatchBuckets = 8;
inline const char* const kBatchBucketNames[kBatchBuckets] = {"1", "2", "4", "8", "16", "32", "64", "more"};

struct Counters {
  std::atomic<uint64_t> tunRxPackets{0}, tunRxBytes{0}, tunTxPackets{0}, tunTxBytes{0};
  std::atomic<uint64_t> udpRxPackets{0}, udpRxBytes{0}, udpTxPackets{0}, udpTxBytes{0};
  std::atomic<uint64_t> icmpSent{0};
  std::atomic<uint64_t> drops[static_cast<int>(DropReason::Count)] = {};
  std::atomic<uint64_t> batches[kBatchBuckets] = {};

  static void add(std::atomic<uint64_t>& c, uint64_t n) { c.fetch_add(n, std::memory_order_relaxed); }
  void drop(DropReason r, uint64_t n = 1) { add(drops[static_cast<int>(r)], n); }
  void batch(size_t n) {
    int b = 0;
    while (b < kBatchBuckets - 1 && (size_t(1) << b) < n) b++;
    add(batches[b], 1);
  }
};

// The scalar counters by the name JavaScript reads them under (counters() in binding.cc): a new
// counter is a field above and a line here.
struct CounterField {
  const char* name;
  std::atomic<uint64_t> Counters::*field;
};
inline const CounterField kCounterFields[] = {
    {"tunRxPackets", &Counters::tunRxPackets}, {"tunRxBytes", &Counters::tunRxBytes},
    {"tunTxPackets", &Counters::tunTxPackets}, {"tunTxBytes", &Counters::tunTxBytes},
    {"udpRxPackets", &Counters::udpRxPackets}, {"udpRxBytes", &Counters::udpRxBytes},
    {"udpTxPackets", &Counters::udpTxPackets}, {"udpTxBytes", &Counters::udpTxBytes},
    {"icmpSent", &Counters::icmpSent},
};

// Which offloads a batched engine runs with; fixed before its threads start.
struct EngineStatus {
  bool tunOffload = false;
  bool udpGso = false;
  bool udpGro = false;
  std::vector<std::string> fallbacks;  // why a requested offload is off
};

class Engine {
 public:
  virtual ~Engine() { close(); }
  void setRoutes(std::shared_ptr<const RouteTable> table) { routes_.store(std::move(table)); }
  const Counters& counters() const { return counters_; }
  EngineStatus status() const {
    std::lock_guard<std::mutex> lock(statusMutex_);
    return status_;
  }

  // Wakes the loop threads, joins them, closes every fd; the TUN goes away with its fd. Idempotent.
  void close() {
    std::lock_guard<std::mutex> lock(closeMutex_);
    if (closed_) return;
    closed_ = true;
    stopping_.store(true);
    if (wakeFd_ >= 0) signalWakeFd(wakeFd_);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    for (int* fd : {&tunFd_, &udpFd_, &wakeFd_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
    for (int fd : ownedFds_) ::close(fd);
    ownedFds_.clear();
  }

 protected:
  explicit Engine(const EngineConfig& config) : config_(config) {}
  EngineConfig config_;
  RouteTableRef routes_;
  Counters counters_;
  EngineStatus status_;  // written under statusMutex_ once threads run
  mutable std::mutex statusMutex_;
  int tunFd_ = -1, udpFd_ = -1, wakeFd_ = -1;
  std::vector<int> ownedFds_;  // any further fds an engine opens (its epoll sets), closed by close()
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;

  // Starts a loop thread named kdp-<what> (at most 15 characters), so `top -H` and leak checks in
  // /proc/<pid>/task can tell the engine's threads from Node's. Named from here, before this returns.
  template <typename F>
  void startThread(const char* name, F&& loop) {
    threads_.emplace_back(std::forward<F>(loop));
    pthread_setname_np(threads_.back().native_handle(), name);
  }

 private:
  std::mutex closeMutex_;
  bool closed_ = false;
};

// flannel's proxy loop: one thread, poll(), one packet per syscall.
std::unique_ptr<Engine> createBaselineEngine(const EngineConfig& config);
// Two threads (one per direction), epoll, recvmmsg/sendmmsg, TUN offloads and UDP GSO/GRO.
std::unique_ptr<Engine> createBatchedEngine(const EngineConfig& config);

}  // namespace kdp
