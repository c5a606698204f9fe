// Ring buffer (BPF_MAP_TYPE_RINGBUF) reading: openRingBuffer(mapFd) -> { poll(timeoutMs), close() }.
// poll waits on libbpf's epoll fd on a libuv worker thread, never on the JS thread, and resolves
// with the records that arrived (copies; the ring's space is released as they are consumed).
// One poll at a time per ring; close during a poll takes effect when that poll returns.
#include <bpf/libbpf.h>

#include <vector>

#include "ebpf_common.h"

namespace kdp_ebpf {
namespace {

struct Ring {
  ring_buffer* rb = nullptr;
  std::vector<std::vector<uint8_t>> records;
  bool polling = false;
  bool closing = false;
  bool orphaned = false;  // its RingBuffer wrapper was collected during a poll

  static int onRecord(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Ring*>(ctx);
    auto* p = static_cast<uint8_t*>(data);
    self->records.emplace_back(p, p + size);
    return 0;
  }
  void free() {
    if (rb) ring_buffer__free(rb);
    rb = nullptr;
  }
};

class PollWorker : public Napi::AsyncWorker {
 public:
  PollWorker(Napi::Env env, Ring* ring, int timeoutMs)
      : Napi::AsyncWorker(env), ring_(ring), timeout_(timeoutMs), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    int r = ring_buffer__poll(ring_->rb, timeout_);
    if (r < 0 && r != -EINTR) err_ = -r;
  }

  void OnOK() override {
    Napi::Env env = Env();
    ring_->polling = false;
    Napi::Array out = Napi::Array::New(env, ring_->records.size());
    for (size_t i = 0; i < ring_->records.size(); i++) {
      out.Set(i, Napi::Buffer<uint8_t>::Copy(env, ring_->records[i].data(), ring_->records[i].size()));
    }
    ring_->records.clear();
    if (ring_->closing) ring_->free();
    if (ring_->orphaned) {
      delete ring_;
      return;
    }
    if (err_) {
      Napi::Error e = Napi::Error::New(env, kdp::errnoMessage("ring buffer poll", err_));
      const char* name = strerrorname_np(err_);
      e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
      deferred_.Reject(e.Value());
    } else {
      deferred_.Resolve(out);
    }
  }

 private:
  Ring* ring_;
  int timeout_;
  int err_ = 0;
  Napi::Promise::Deferred deferred_;
};

class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingBuffer",
                       {InstanceMethod("poll", &RingBuffer::Poll), InstanceMethod("close", &RingBuffer::Close)});
  }

  explicit RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
    int fd = fdArg(info, 0, "mapFd");
    ring_ = new Ring();
    ring_->rb = ring_buffer__new(fd, &Ring::onRecord, ring_, nullptr);
    if (!ring_->rb) {
      int err = errno;
      delete ring_;
      ring_ = nullptr;
      sysError(info.Env(), "open ring buffer on map fd " + std::to_string(fd), err);
    }
  }

  // The Ring outlives this wrapper while a poll runs (the worker frees it when it is closing).
  ~RingBuffer() override {
    if (!ring_) return;
    if (ring_->polling) {
      ring_->closing = true;  // the worker still points at it and deletes it when it returns
      ring_->orphaned = true;
    } else {
      ring_->free();
      delete ring_;
    }
  }

 private:
  Ring* ring_ = nullptr;

  Napi::Value Poll(const Napi::CallbackInfo& info) {
    int timeout = static_cast<int>(intArg(info, 0, "timeoutMs", 0, 60000));
    if (!ring_ || !ring_->rb || ring_->closing) throw Napi::Error::New(info.Env(), "the ring buffer is closed");
    if (ring_->polling) throw Napi::Error::New(info.Env(), "a poll of this ring buffer is already running");
    ring_->polling = true;
    auto* worker = new PollWorker(info.Env(), ring_, timeout);
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (ring_) {
      if (ring_->polling) {
        ring_->closing = true;
      } else {
        ring_->free();
      }
    }
    return info.Env().Undefined();
  }
};

}  // namespace

void InitRingBuffer(Napi::Env env, Napi::Object exports) {
  exports.Set("RingBuffer", RingBuffer::Define(env));
}

}  // namespace kdp_ebpf
