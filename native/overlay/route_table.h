// The engine's route table: pod subnet -> node underlay address, longest-prefix match, plus the set
// of node addresses datagrams are accepted from. Immutable once built; the engines swap a whole new
// table in atomically (RouteTableRef) so their loops never stop for an update.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kdp {

struct RouteEntry {
  uint32_t network;  // host byte order, masked
  int prefixLength;
  uint32_t nodeIp;  // host byte order
};

class RouteTable {
 public:
  explicit RouteTable(const std::vector<RouteEntry>& entries);
  RouteTable() = default;

  // The node owning the longest prefix that holds dst, or 0 when none does. One hash lookup per
  // distinct prefix length present (one for the usual all-/24 cluster), so hundreds of nodes cost
  // the same as two.
  uint32_t lookup(uint32_t dst) const;
  bool isNode(uint32_t ip) const { return nodes_.count(ip) != 0; }
  size_t size() const { return size_; }

 private:
  struct Level {
    int prefixLength;
    uint32_t mask;
    std::unordered_map<uint32_t, uint32_t> byNetwork;
  };
  std::vector<Level> levels_;  // longest prefix first
  std::unordered_set<uint32_t> nodes_;
  size_t size_ = 0;
};

// Parses "a.b.c.d" (host byte order result); false when it is not a dotted quad.
bool parseIpv4Address(const std::string& s, uint32_t* out);
// Parses "a.b.c.d/len"; the address is masked; false when malformed.
bool parseIpv4Cidr(const std::string& s, uint32_t* network, int* prefixLength);
std::string formatIpv4(uint32_t ip);
inline uint32_t prefixMask(int len) { return len == 0 ? 0 : 0xffffffffu << (32 - len); }

// The table a running loop reads (once per batch) and setRoutes replaces.
class RouteTableRef {
 public:
  RouteTableRef() : table_(std::make_shared<const RouteTable>()) {}
  std::shared_ptr<const RouteTable> load() const { return std::atomic_load(&table_); }
  void store(std::shared_ptr<const RouteTable> t) { std::atomic_store(&table_, std::move(t)); }

 private:
  std::shared_ptr<const RouteTable> table_;
};

}  // namespace kdp
