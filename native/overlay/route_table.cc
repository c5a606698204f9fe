// Longest-prefix match for the engines: one hash map per prefix length present, probed from the
// longest length down. Built once per setRoutes; lookups never allocate.
#include "route_table.h"

#include <arpa/inet.h>

#include <algorithm>

namespace kdp {

RouteTable::RouteTable(const std::vector<RouteEntry>& entries) {
  for (const RouteEntry& e : entries) {
    auto it = std::find_if(levels_.begin(), levels_.end(), [&](const Level& l) { return l.prefixLength == e.prefixLength; });
    if (it == levels_.end()) {
      levels_.push_back(Level{e.prefixLength, prefixMask(e.prefixLength), {}});
      it = levels_.end() - 1;
    }
    // A later entry for the same subnet wins, as a later lease replaces an earlier one.
    it->byNetwork[e.network & it->mask] = e.nodeIp;
    nodes_.insert(e.nodeIp);
  }
  std::sort(levels_.begin(), levels_.end(), [](const Level& a, const Level& b) { return a.prefixLength > b.prefixLength; });
  for (const Level& l : levels_) size_ += l.byNetwork.size();
}

uint32_t RouteTable::lookup(uint32_t dst) const {
  for (const Level& l : levels_) {
    auto it = l.byNetwork.find(dst & l.mask);
    if (it != l.byNetwork.end()) return it->second;
  }
  return 0;
}

bool parseIpv4Address(const std::string& s, uint32_t* out) {
  struct in_addr a;
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

bool parseIpv4Cidr(const std::string& s, uint32_t* network, int* prefixLength) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash + 1 >= s.size() || s.size() - slash > 3) return false;
  uint32_t addr;
  if (!parseIpv4Address(s.substr(0, slash), &addr)) return false;
  int len = 0;
  for (size_t i = slash + 1; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    len = len * 10 + (s[i] - '0');
  }
  if (len > 32) return false;
  *prefixLength = len;
  *network = addr & prefixMask(len);
  return true;
}

std::string formatIpv4(uint32_t ip) {
  char buf[INET_ADDRSTRLEN];
  struct in_addr a;
  a.s_addr = htonl(ip);
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

}  // namespace kdp
