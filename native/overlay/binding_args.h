// The overlay binding's own argument types, checked as napi_args.h checks the generic ones: IPv4
// addresses, the local pod subnet, and route tables ({ subnet, nodeIp }[]). Shared by binding.cc
// and binding_testing.cc.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "packet.h"
#include "route_table.h"

namespace kdp::overlay {

uint32_t ipField(const Napi::Object& o, const char* key, const std::string& fn);
LocalConfig localField(const Napi::Object& o, const std::string& fn);
std::shared_ptr<const RouteTable> parseRoutes(Napi::Env env, Napi::Value v, const std::string& fn);

}  // namespace kdp::overlay
