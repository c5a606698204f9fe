// Argument checks every facility's N-API binding makes the same way: a bad argument is a TypeError
// naming the function and the field ("createEngine: port must be an integer in 1..65535"), and a
// SysError (sys_error.h) becomes a JS Error with the same message, `code` the errno name and
// `errno` the number, so TypeScript can branch on the code without parsing text.
#pragma once
#include <napi.h>

#include <cstring>
#include <string>

#include "sys_error.h"

namespace kdp::napi {

inline Napi::Error sysErrorToJs(Napi::Env env, const SysError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  const char* name = strerrorname_np(e.err());
  err.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  err.Set("errno", Napi::Number::New(env, e.err()));
  return err;
}

[[noreturn]] inline void typeError(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

inline std::string stringField(const Napi::Object& o, const char* key, const std::string& fn) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) typeError(o.Env(), fn + ": " + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline int intField(const Napi::Object& o, const char* key, int min, int max, const std::string& fn) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
  if (d != static_cast<int>(d) || d < min || d > max) {
    typeError(o.Env(), fn + ": " + key + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return static_cast<int>(d);
}

inline bool boolField(const Napi::Object& o, const char* key, bool fallback, const std::string& fn) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) typeError(o.Env(), fn + ": " + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

}  // namespace kdp::napi
