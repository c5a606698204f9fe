// Map operations and program test runs by fd, over libbpf's thin bpf() wrappers. Keys and values
// are Buffers the caller sized (dataplane/ebpf/map.ts encodes them with its codecs); per-CPU maps
// take and return one value slot per possible CPU, each rounded up to 8 bytes, as the kernel does.
// Nothing here allocates per call beyond what N-API needs: the caller's Buffers are used in place.
#include <bpf/bpf.h>

#include "ebpf_common.h"

namespace kdp_ebpf {
namespace {

// mapLookup(fd, key, valueOut, flags) -> found
Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  auto key = bufferArg(info, 1, "key");
  auto value = bufferArg(info, 2, "value");
  uint64_t flags = static_cast<uint64_t>(intArg(info, 3, "flags", 0, UINT32_MAX));
  int r = bpf_map_lookup_elem_flags(fd, key.Data(), value.Data(), flags);
  if (r == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  sysError(info.Env(), "bpf map lookup", r);
}

// mapUpdate(fd, key, value, flags): BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2.
Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  auto key = bufferArg(info, 1, "key");
  auto value = bufferArg(info, 2, "value");
  uint64_t flags = static_cast<uint64_t>(intArg(info, 3, "flags", 0, UINT32_MAX));
  int r = bpf_map_update_elem(fd, key.Data(), value.Data(), flags);
  if (r != 0) sysError(info.Env(), "bpf map update", r);
  return info.Env().Undefined();
}

// mapDelete(fd, key) -> deleted (false: no such key)
Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  auto key = bufferArg(info, 1, "key");
  int r = bpf_map_delete_elem(fd, key.Data());
  if (r == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  sysError(info.Env(), "bpf map delete", r);
}

// mapNextKey(fd, key | null, nextOut) -> true, or false after the last key
Napi::Value MapNextKey(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  const void* key = nullptr;
  if (info.Length() > 1 && !info[1].IsNull()) key = bufferArg(info, 1, "key").Data();
  auto next = bufferArg(info, 2, "next");
  int r = bpf_map_get_next_key(fd, key, next.Data());
  if (r == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  sysError(info.Env(), "bpf map next key", r);
}

// mapLookupBatch(fd, inBatch | null, outBatch, keys, values, count, flags) -> { count, done }
// inBatch/outBatch are opaque cursors of the map's key size (the kernel's hash bucket index for
// hash maps is 4 bytes; the key size is always enough). `done` when the map has no more entries.
Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  void* in = nullptr;
  if (!info[1].IsNull()) in = bufferArg(info, 1, "inBatch").Data();
  auto out = bufferArg(info, 2, "outBatch");
  auto keys = bufferArg(info, 3, "keys");
  auto values = bufferArg(info, 4, "values");
  uint32_t count = static_cast<uint32_t>(intArg(info, 5, "count", 1, UINT32_MAX));
  DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
  int r = bpf_map_lookup_batch(fd, in, out.Data(), keys.Data(), values.Data(), &count, &opts);
  bool done = false;
  if (r != 0) {
    if (errno != ENOENT) sysError(info.Env(), "bpf map lookup batch", r);
    done = true;  // ENOENT: the last entries were returned (count may be 0)
  }
  Napi::Object res = Napi::Object::New(info.Env());
  res.Set("count", static_cast<double>(count));
  res.Set("done", done);
  return res;
}

// mapUpdateBatch(fd, keys, values, count, elemFlags) -> count written
Napi::Value MapUpdateBatch(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  auto keys = bufferArg(info, 1, "keys");
  auto values = bufferArg(info, 2, "values");
  uint32_t count = static_cast<uint32_t>(intArg(info, 3, "count", 0, UINT32_MAX));
  uint64_t flags = static_cast<uint64_t>(intArg(info, 4, "flags", 0, UINT32_MAX));
  DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags, .flags = 0);
  int r = bpf_map_update_batch(fd, keys.Data(), values.Data(), &count, &opts);
  if (r != 0) sysError(info.Env(), "bpf map update batch (after " + std::to_string(count) + " entries)", r);
  return Napi::Number::New(info.Env(), count);
}

// mapDeleteBatch(fd, keys, count) -> count deleted; a missing key is ENOENT after the ones before it.
Napi::Value MapDeleteBatch(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  auto keys = bufferArg(info, 1, "keys");
  uint32_t count = static_cast<uint32_t>(intArg(info, 2, "count", 0, UINT32_MAX));
  DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
  int r = bpf_map_delete_batch(fd, keys.Data(), &count, &opts);
  if (r != 0) sysError(info.Env(), "bpf map delete batch (after " + std::to_string(count) + " entries)", r);
  return Napi::Number::New(info.Env(), count);
}

// progTestRun(fd, data, dataOutSize, repeat, ctx | null) -> { retval, duration, data }
// BPF_PROG_TEST_RUN: runs the program on `data` in the kernel without any traffic.
Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  auto data = bufferArg(info, 1, "data");
  uint32_t outSize = static_cast<uint32_t>(intArg(info, 2, "dataOutSize", 0, 1 << 20));
  uint32_t repeat = static_cast<uint32_t>(intArg(info, 3, "repeat", 0, 1 << 24));
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), outSize);
  DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = data.Data();
  opts.data_size_in = static_cast<uint32_t>(data.Length());
  if (outSize) {
    opts.data_out = out.Data();
    opts.data_size_out = outSize;
  }
  opts.repeat = repeat;
  if (info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined()) {
    auto ctx = bufferArg(info, 4, "ctx");
    opts.ctx_in = ctx.Data();
    opts.ctx_size_in = static_cast<uint32_t>(ctx.Length());
  }
  int r = bpf_prog_test_run_opts(fd, &opts);
  if (r != 0) sysError(info.Env(), "bpf prog test run", r);
  Napi::Object res = Napi::Object::New(info.Env());
  res.Set("retval", static_cast<double>(opts.retval));
  res.Set("duration", static_cast<double>(opts.duration));
  res.Set("data", Napi::Buffer<uint8_t>::Copy(info.Env(), out.Data(), std::min(opts.data_size_out, outSize)));
  return res;
}

}  // namespace

void InitMaps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapNextKey", Napi::Function::New(env, MapNextKey));
  exports.Set("mapLookupBatch", Napi::Function::New(env, MapLookupBatch));
  exports.Set("mapUpdateBatch", Napi::Function::New(env, MapUpdateBatch));
  exports.Set("mapDeleteBatch", Napi::Function::New(env, MapDeleteBatch));
  exports.Set("progTestRun", Napi::Function::New(env, ProgTestRun));
}

}  // namespace kdp_ebpf
