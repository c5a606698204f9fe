// Shared by the kdp_ebpf addon's files (native/ebpf/): argument checks that throw TypeErrors
// naming the argument, and system failures turned into Errors with `code` (the errno name) and
// `errno`, the same shape kdp_native uses (native/sys_error.h), so TypeScript maps both alike.
#pragma once
#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "sys_error.h"

namespace kdp_ebpf {

[[noreturn]] inline void typeError(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}

// libbpf returns -errno (libbpf 1.x strict mode) and sets errno; `ret` may be either.
[[noreturn]] inline void sysError(Napi::Env env, const std::string& what, int ret) {
  int err = ret < 0 ? -ret : (ret > 0 ? ret : errno);
  Napi::Error e = Napi::Error::New(env, kdp::errnoMessage(what, err));
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  throw e;
}

inline std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) typeError(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

inline int64_t intArg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  double d = info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1e300;
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(min) ||
      d > static_cast<double>(max)) {
    typeError(info.Env(), std::string(name) + " must be an integer in " + std::to_string(min) + ".." +
                              std::to_string(max));
  }
  return static_cast<int64_t>(d);
}

inline int fdArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return static_cast<int>(intArg(info, i, name, 0, INT32_MAX));
}

// A Buffer argument, optionally of an exact or minimum size.
inline Napi::Buffer<uint8_t> bufferArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBuffer()) typeError(info.Env(), std::string(name) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

// Registration of each file's functions into the module's exports.
void InitObject(Napi::Env env, Napi::Object exports);
void InitMaps(Napi::Env env, Napi::Object exports);
void InitAttach(Napi::Env env, Napi::Object exports);
void InitRingBuffer(Napi::Env env, Napi::Object exports);
Napi::Value DescribeBtfType(Napi::Env env, const struct btf* btf, uint32_t id, int depth);

}  // namespace kdp_ebpf
