// The overlay engines' packet functions without I/O, for tests and instruction counts:
// engineProcess(input) returns every output of one batch in order (the unit tests' view of the
// loops), engineBench(input, rounds) runs the same batch `rounds` times in native code and returns
// counts (the callgrind case native-engine-loop, free of N-API per packet).
#include "binding_testing.h"

#include <cstring>
#include <memory>
#include <vector>

#include "batch_process.h"
#include "binding_args.h"
#include "napi_args.h"
#include "offload.h"
#include "packet.h"
#include "route_table.h"

namespace {

using kdp::LocalConfig;
using kdp::RouteTable;
using kdp::napi::boolField;
using kdp::napi::intField;
using kdp::napi::stringField;
using kdp::napi::typeError;
using kdp::overlay::ipField;
using kdp::overlay::localField;
using kdp::overlay::parseRoutes;

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

}  // namespace

namespace kdp::overlay {

void registerTestingExports(Napi::Env env, Napi::Object exports) {
  exports.Set("engineProcess", Napi::Function::New(env, EngineProcess, "engineProcess"));
  exports.Set("engineBench", Napi::Function::New(env, EngineBench, "engineBench"));
}

}  // namespace kdp::overlay
