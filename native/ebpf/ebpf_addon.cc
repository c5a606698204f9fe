// kdp_ebpf: the N-API surface of ebpf-ts (dataplane/ebpf/native.ts types it). Kept small: open and
// load an object, program and map fds, map operations (single, batch, per-CPU), ring buffer polls,
// program test runs and attach calls returning link fds. The policy (what may be attached where,
// codecs, lifetimes) is in TypeScript; the host-safety checks are in both.
#include "ebpf_common.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  kdp_ebpf::InitObject(env, exports);
  kdp_ebpf::InitMaps(env, exports);
  kdp_ebpf::InitAttach(env, exports);
  kdp_ebpf::InitRingBuffer(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(kdp_ebpf, Init)
