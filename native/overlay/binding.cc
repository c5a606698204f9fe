// The overlay's N-API module (build/Release/kdp_overlay.node; typed for TypeScript by
// dataplane/overlay/backends/udp/native-binding.ts): openTun and createEngine (a handle with
// setRoutes/counters/status/close). The engines' packet functions without I/O, for tests and
// instruction counts, are in binding_testing.cc. Arguments are validated with TypeErrors; system
// failures become Errors whose message names the call and errno ("open /dev/net/tun: EPERM
// (Operation not permitted)") and whose `code` is the errno name (napi_args.h).
#include <napi.h>

#include <memory>

#include "binding_args.h"
#include "binding_testing.h"
#include "engine.h"
#include "napi_args.h"
#include "sys_error.h"
#include "tun.h"

namespace {

using kdp::napi::boolField;
using kdp::napi::intField;
using kdp::napi::stringField;
using kdp::napi::sysErrorToJs;
using kdp::napi::typeError;
using kdp::overlay::ipField;
using kdp::overlay::localField;
using kdp::overlay::parseRoutes;

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
    for (const kdp::CounterField& f : kdp::kCounterFields) o.Set(f.name, num(c.*f.field));
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openTun", Napi::Function::New(env, OpenTun, "openTun"));
  exports.Set("createEngine", Napi::Function::New(
                                  env,
                                  [](const Napi::CallbackInfo& info) -> Napi::Value {
                                    Napi::FunctionReference* ctor = info.Env().GetInstanceData<Napi::FunctionReference>();
                                    return ctor->New({info.Length() > 0 ? info[0] : info.Env().Undefined()});
                                  },
                                  "createEngine"));
  kdp::overlay::registerTestingExports(env, exports);
  Napi::FunctionReference* ctor = new Napi::FunctionReference(Napi::Persistent(EngineHandle::Define(env)));
  env.SetInstanceData(ctor);
  return exports;
}

}  // namespace

NODE_API_MODULE(kdp_overlay, Init)
