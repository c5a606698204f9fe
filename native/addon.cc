// node-addon-api bindings: the handful of functions TypeScript sees (dataplane/native/addon.ts
// types them): openTun, createEngine (a handle with setRoutes/counters/status/close),
// engineProcess, the engines' packet functions without I/O for tests, and engineBench, the same
// over many rounds in native code for instruction counts. Arguments are validated here
// with TypeErrors; system failures become Errors whose message names the call and errno
// ("open /dev/net/tun: EPERM (Operation not permitted)") and whose `code` is the errno name.
#include <napi.h>

#include <cstring>
#include <memory>
#include <unordered_set>

#include "batch_process.h"
#include "engine.h"
#include "offload.h"
#include "packet.h"
#include "route_table.h"
#include "sys_error.h"
#include "tun.h"

namespace {

using kdp::Decision;
using kdp::LocalConfig;
using kdp::RouteEntry;
using kdp::RouteTable;

Napi::Error sysErrorToJs(Napi::Env env, const kdp::SysError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  const char* name = strerrorname_np(e.err());
  err.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  err.Set("errno", Napi::Number::New(env, e.err()));
  return err;
}

[[noreturn]] void typeError(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

std::string stringField(const Napi::Object& o, const char* key, const std::string& fn) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) typeError(o.Env(), fn + ": " + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int intField(const Napi::Object& o, const char* key, int min, int max, const std::string& fn) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
  if (d != static_cast<int>(d) || d < min || d > max) {
    typeError(o.Env(), fn + ": " + key + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return static_cast<int>(d);
}

bool boolField(const Napi::Object& o, const char* key, bool fallback, const std::string& fn) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) typeError(o.Env(), fn + ": " + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

uint32_t ipField(const Napi::Object& o, const char* key, const std::string& fn) {
  std::string s = stringField(o, key, fn);
  uint32_t ip;
  if (!kdp::parseIpv4Address(s, &ip)) typeError(o.Env(), fn + ": " + key + " '" + s + "' is not an IPv4 address");
  return ip;
}

LocalConfig localField(const Napi::Object& o, const std::string& fn) {
  std::string s = stringField(o, "localSubnet", fn);
  LocalConfig local;
  int len;
  if (!kdp::parseIpv4Cidr(s, &local.subnet, &len)) typeError(o.Env(), fn + ": localSubnet '" + s + "' is not an IPv4 CIDR");
  local.mask = kdp::prefixMask(len);
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
    if (!kdp::parseIpv4Cidr(subnet, &e.network, &e.prefixLength))
      typeError(env, where + ".subnet '" + subnet + "' is not an IPv4 CIDR");
    e.nodeIp = ipField(r, "nodeIp", where);
    // A subnet listed twice is a caller's bug (the backend de-duplicates leases), not a tie to break.
    if (!seen.insert((uint64_t(e.prefixLength) << 32) | e.network).second)
      typeError(env, where + ".subnet " + subnet + " is routed twice");
    entries.push_back(e);
  }
  return std::make_shared<const RouteTable>(entries);
}

Napi::Value OpenTun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
    typeError(env, "openTun(name: string, options: { vnetHdr: boolean; multiQueue?: boolean })");
  }
  Napi::Object opts = info[1].As<Napi::Object>();
  if (!opts.Get("vnetHdr").IsBoolean()) typeError(env, "openTun: options.vnetHdr must be a boolean");
  kdp::TunOptions options;
  options.vnetHdr = opts.Get("vnetHdr").As<Napi::Boolean>().Value();
  options.multiQueue = boolField(opts, "multiQueue", false, "openTun: options");
  try {
    return Napi::Number::New(env, kdp::openTun(info[0].As<Napi::String>().Utf8Value(), options));
  } catch (const kdp::SysError& e) {
    throw sysErrorToJs(env, e);
  } catch (const std::invalid_argument& e) {
    typeError(env, std::string("openTun: ") + e.what());
  }
}

// ---- createEngine: a handle on a running engine ----

class EngineHandle : public Napi::ObjectWrap<EngineHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeEngine",
                       {InstanceMethod("setRoutes", &EngineHandle::SetRoutes),
                        InstanceMethod("counters", &EngineHandle::Counters),
                        InstanceMethod("status", &EngineHandle::Status), InstanceMethod("close", &EngineHandle::Close)});
  }

  explicit EngineHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineHandle>(info) {
    Napi::Env env = info.Env();
    const std::string fn = "createEngine";
    if (info.Length() < 1 || !info[0].IsObject()) typeError(env, fn + "(options) needs an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    kdp::EngineConfig config;
    config.tunName = stringField(o, "tunName", fn);
    config.localIp = ipField(o, "localIp", fn);
    config.port = uint16_t(intField(o, "port", 1, 65535, fn));
    config.mtu = intField(o, "mtu", 68, 65507, fn);
    config.local = localField(o, fn);
    Napi::Value mode = o.Get("mode");
    std::string m = mode.IsUndefined() ? "batched" : (mode.IsString() ? mode.As<Napi::String>().Utf8Value() : "");
    if (m != "batched" && m != "baseline") typeError(env, fn + ": mode must be 'batched' or 'baseline'");
    config.offload = boolField(o, "offload", m == "batched", fn);
    try {
      engine_ = m == "batched" ? kdp::createBatchedEngine(config) : kdp::createBaselineEngine(config);
    } catch (const kdp::SysError& e) {
      throw sysErrorToJs(env, e);
    } catch (const std::invalid_argument& e) {
      typeError(env, fn + ": " + e.what());
    }
  }

 private:
  std::unique_ptr<kdp::Engine> engine_;

  bool closed_ = false;

  kdp::Engine& live(Napi::Env env, const char* what) {
    if (!engine_) throw Napi::Error::New(env, std::string(what) + ": the engine was not created");
    return *engine_;
  }

  Napi::Value SetRoutes(const Napi::CallbackInfo& info) {
    if (closed_) throw Napi::Error::New(info.Env(), "setRoutes: the engine is closed");
    live(info.Env(), "setRoutes").setRoutes(parseRoutes(info.Env(), info[0], "setRoutes"));
    return info.Env().Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const kdp::Counters& c = live(env, "counters").counters();
    auto num = [&](const std::atomic<uint64_t>& a) { return Napi::Number::New(env, double(a.load())); };
    Napi::Object o = Napi::Object::New(env);
    o.Set("tunRxPackets", num(c.tunRxPackets));
    o.Set("tunRxBytes", num(c.tunRxBytes));
    o.Set("tunTxPackets", num(c.tunTxPackets));
    o.Set("tunTxBytes", num(c.tunTxBytes));
    o.Set("udpRxPackets", num(c.udpRxPackets));
    o.Set("udpRxBytes", num(c.udpRxBytes));
    o.Set("udpTxPackets", num(c.udpTxPackets));
    o.Set("udpTxBytes", num(c.udpTxBytes));
    o.Set("icmpSent", num(c.icmpSent));
    Napi::Object drops = Napi::Object::New(env);
    for (int i = 0; i < static_cast<int>(kdp::DropReason::Count); i++) drops.Set(kdp::kDropReasonNames[i], num(c.drops[i]));
    o.Set("drops", drops);
    Napi::Object batches = Napi::Object::New(env);
    for (int i = 0; i < kdp::kBatchBuckets; i++) batches.Set(kdp::kBatchBucketNames[i], num(c.batches[i]));
    o.Set("batchSizes", batches);
    return o;
  }

  Napi::Value Status(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    kdp::EngineStatus s = live(env, "status").status();
    Napi::Object o = Napi::Object::New(env);
    o.Set("tunOffload", Napi::Boolean::New(env, s.tunOffload));
    o.Set("udpGso", Napi::Boolean::New(env, s.udpGso));
    o.Set("udpGro", Napi::Boolean::New(env, s.udpGro));
    Napi::Array fb = Napi::Array::New(env, s.fallbacks.size());
    for (size_t i = 0; i < s.fallbacks.size(); i++) fb.Set(uint32_t(i), Napi::String::New(env, s.fallbacks[i]));
    o.Set("fallbacks", fb);
    return o;
  }

  // Joins the loop threads (they wake on the eventfd at once) and closes the fds; idempotent. The
  // counters stay readable afterwards (final values).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (engine_) engine_->close();
    closed_ = true;
    return info.Env().Undefined();
  }
};

// ---- engineProcess: the packet functions of the loops, without I/O ----

Napi::Object output(Napi::Env env, const char* kind) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", Napi::String::New(env, kind));
  return o;
}

void pushDrop(Napi::Env env, Napi::Array& out, kdp::DropReason r) {
  Napi::Object o = output(env, "drop");
  o.Set("reason", Napi::String::New(env, kdp::kDropReasonNames[static_cast<int>(r)]));
  out.Set(out.Length(), o);
}

void pushTun(Napi::Env env, Napi::Array& out, bool withHdr, const kdp::VnetHdr& hdr, const iovec* iov, size_t n) {
  size_t total = withHdr ? kdp::kVnetHdrLen : 0;
  for (size_t i = 0; i < n; i++) total += iov[i].iov_len;
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, total);
  uint8_t* p = buf.Data();
  if (withHdr) {
    memcpy(p, &hdr, kdp::kVnetHdrLen);
    p += kdp::kVnetHdrLen;
  }
  for (size_t i = 0; i < n; i++) {
    memcpy(p, iov[i].iov_base, iov[i].iov_len);
    p += iov[i].iov_len;
  }
  Napi::Object o = output(env, "tun");
  o.Set("data", buf);
  out.Set(out.Length(), o);
}

// The input of engineProcess and engineBench, checked, with copies of the packets they own.
struct BatchInput {
  bool fromTun = true;
  bool offload = false;
  std::shared_ptr<const RouteTable> routes;
  LocalConfig local;
  std::vector<std::vector<uint8_t>> copies;
  std::vector<kdp::BatchPacket> packets;

  // Points packets[] at fresh copies of `originals` (the loops modify packets in place).
  void reset(const std::vector<std::vector<uint8_t>>& originals) {
    copies.resize(originals.size());
    for (size_t i = 0; i < originals.size(); i++) {
      copies[i].assign(originals[i].begin(), originals[i].end());
      packets[i].data = copies[i].data();
      packets[i].len = copies[i].size();
    }
  }

  void run(kdp::BatchScratch& scratch, kdp::BatchSink& sink) {
    if (fromTun) kdp::processTunBatch(packets.data(), packets.size(), offload, *routes, local, scratch, sink);
    else kdp::processUdpBatch(packets.data(), packets.size(), offload, *routes, local, scratch, sink);
  }
};

BatchInput parseBatchInput(Napi::Env env, const Napi::Value& arg, const std::string& fn) {
  if (!arg.IsObject()) typeError(env, fn + "(input) needs an input object");
  Napi::Object in = arg.As<Napi::Object>();
  BatchInput b;
  std::string direction = stringField(in, "direction", fn);
  if (direction != "tun" && direction != "udp") typeError(env, fn + ": direction must be 'tun' or 'udp'");
  b.fromTun = direction == "tun";
  b.routes = parseRoutes(env, in.Get("routes"), fn);
  ipField(in, "localIp", fn);
  intField(in, "mtu", 68, 65507, fn);
  b.local = localField(in, fn);
  b.offload = boolField(in, "offload", false, fn);
  if (!in.Get("packets").IsArray()) typeError(env, fn + ": packets must be an array of { data: Buffer, src? }");
  Napi::Array packets = in.Get("packets").As<Napi::Array>();
  b.copies.resize(packets.Length());
  b.packets.resize(packets.Length());
  for (uint32_t i = 0; i < packets.Length(); i++) {
    std::string where = fn + ": packets[" + std::to_string(i) + "]";
    Napi::Value pv = packets.Get(i);
    if (!pv.IsObject() || !pv.As<Napi::Object>().Get("data").IsBuffer()) typeError(env, where + ".data must be a Buffer");
    Napi::Object p = pv.As<Napi::Object>();
    Napi::Buffer<uint8_t> data = p.Get("data").As<Napi::Buffer<uint8_t>>();
    b.copies[i].assign(data.Data(), data.Data() + data.Length());
    b.packets[i] = {b.copies[i].data(), b.copies[i].size()};
    if (b.fromTun) continue;
    b.packets[i].src = ipField(p, "src", where);
    Napi::Value gv = p.Get("gsoSize");
    b.packets[i].gsoSize = gv.IsUndefined() ? 0 : size_t(intField(p, "gsoSize", 0, 65535, where));
  }
  return b;
}

// Every result as a JS object, in order.
class JsSink : public kdp::BatchSink {
 public:
  explicit JsSink(Napi::Env env) : env_(env), out_(Napi::Array::New(env)) {}
  Napi::Array result() const { return out_; }
  void toUdp(uint32_t peer, const uint8_t* data, size_t len) override {
    Napi::Object o = output(env_, "udp");
    o.Set("dst", Napi::String::New(env_, kdp::formatIpv4(peer)));
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env_, data, len));
    out_.Set(out_.Length(), o);
  }
  void toTun(bool withHdr, const kdp::VnetHdr& hdr, const iovec* iov, size_t n) override {
    pushTun(env_, out_, withHdr, hdr, iov, n);
  }
  void drop(kdp::DropReason r) override { pushDrop(env_, out_, r); }

 private:
  Napi::Env env_;
  Napi::Array out_;
};

Napi::Value EngineProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchInput b = parseBatchInput(env, info.Length() > 0 ? info[0] : env.Undefined(), "engineProcess");
  kdp::BatchScratch scratch;
  JsSink sink(env);
  b.run(scratch, sink);
  return sink.result();
}

// Counts results, touching each output's bytes once (as a send or write would read them).
class CountingSink : public kdp::BatchSink {
 public:
  uint64_t forwarded = 0, dropped = 0, checksum = 0;
  void toUdp(uint32_t, const uint8_t* data, size_t len) override {
    forwarded++;
    checksum += len ? data[len - 1] : 0;
  }
  void toTun(bool, const kdp::VnetHdr&, const iovec* iov, size_t n) override {
    forwarded++;
    for (size_t i = 0; i < n; i++) checksum += iov[i].iov_len;
  }
  void drop(kdp::DropReason) override { dropped++; }
};

// engineBench(input, rounds): the same batch through the packet functions `rounds` times, all in
// native code (the packets copied afresh each round, as a read would), for instruction counts of
// the loop's work without N-API in every packet. Returns { forwarded, dropped } over all rounds.
Napi::Value EngineBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "engineBench";
  BatchInput b = parseBatchInput(env, info.Length() > 0 ? info[0] : env.Undefined(), fn);
  if (info.Length() < 2 || !info[1].IsNumber()) typeError(env, fn + ": rounds must be a positive integer");
  double rounds = info[1].As<Napi::Number>().DoubleValue();
  if (rounds != static_cast<int64_t>(rounds) || rounds < 1 || rounds > 1e9)
    typeError(env, fn + ": rounds must be a positive integer");
  const std::vector<std::vector<uint8_t>> originals = b.copies;
  kdp::BatchScratch scratch;
  CountingSink sink;
  for (int64_t r = 0; r < static_cast<int64_t>(rounds); r++) {
    b.reset(originals);
    b.run(scratch, sink);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("forwarded", Napi::Number::New(env, double(sink.forwarded)));
  o.Set("dropped", Napi::Number::New(env, double(sink.dropped)));
  o.Set("checksum", Napi::Number::New(env, double(sink.checksum)));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openTun", Napi::Function::New(env, OpenTun, "openTun"));
  exports.Set("createEngine", Napi::Function::New(
                                  env,
                                  [](const Napi::CallbackInfo& info) -> Napi::Value {
                                    Napi::FunctionReference* ctor = info.Env().GetInstanceData<Napi::FunctionReference>();
                                    return ctor->New({info.Length() > 0 ? info[0] : info.Env().Undefined()});
                                  },
                                  "createEngine"));
  exports.Set("engineProcess", Napi::Function::New(env, EngineProcess, "engineProcess"));
  exports.Set("engineBench", Napi::Function::New(env, EngineBench, "engineBench"));
  Napi::FunctionReference* ctor = new Napi::FunctionReference(Napi::Persistent(EngineHandle::Define(env)));
  env.SetInstanceData(ctor);
  return exports;
}

}  // namespace

NODE_API_MODULE(kdp_native, Init)
