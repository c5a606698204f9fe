// See binding_args.h.
#include "binding_args.h"

#include <unordered_set>
#include <vector>

#include "napi_args.h"

namespace kdp::overlay {

using napi::stringField;
using napi::typeError;

uint32_t ipField(const Napi::Object& o, const char* key, const std::string& fn) {
  std::string s = stringField(o, key, fn);
  uint32_t ip;
  if (!parseIpv4Address(s, &ip)) typeError(o.Env(), fn + ": " + key + " '" + s + "' is not an IPv4 address");
  return ip;
}

LocalConfig localField(const Napi::Object& o, const std::string& fn) {
  std::string s = stringField(o, "localSubnet", fn);
  LocalConfig local;
  int len;
  if (!parseIpv4Cidr(s, &local.subnet, &len)) typeError(o.Env(), fn + ": localSubnet '" + s + "' is not an IPv4 CIDR");
  local.mask = prefixMask(len);
  local.gateway = local.subnet + 1;  // cni0's address, the first host
  return local;
}

std::shared_ptr<const RouteTable> parseRoutes(Napi::Env env, Napi::Value v, const std::string& fn) {
  if (!v.IsArray()) typeError(env, fn + ": routes must be an array of { subnet, nodeIp }");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<RouteEntry> entries;
  std::unordered_set<uint64_t> seen;
  entries.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsObject()) typeError(env, fn + ": routes[" + std::to_string(i) + "] must be { subnet, nodeIp }");
    Napi::Object r = item.As<Napi::Object>();
    std::string where = fn + ": routes[" + std::to_string(i) + "]";
    RouteEntry e;
    std::string subnet = stringField(r, "subnet", where);
    if (!parseIpv4Cidr(subnet, &e.network, &e.prefixLength))
      typeError(env, where + ".subnet '" + subnet + "' is not an IPv4 CIDR");
    e.nodeIp = ipField(r, "nodeIp", where);
    // A subnet listed twice is a caller's bug (the backend de-duplicates leases), not a tie to break.
    if (!seen.insert((uint64_t(e.prefixLength) << 32) | e.network).second)
      typeError(env, where + ".subnet " + subnet + " is routed twice");
    entries.push_back(e);
  }
  return std::make_shared<const RouteTable>(entries);
}

}  // namespace kdp::overlay
