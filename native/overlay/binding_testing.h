// The overlay module's entry points for tests and benchmarks (binding_testing.cc), registered
// on the module's exports by binding.cc.
#pragma once
#include <napi.h>

namespace kdp::overlay {

// Adds engineProcess and engineBench to `exports`.
void registerTestingExports(Napi::Env env, Napi::Object exports);

}  // namespace kdp::overlay
