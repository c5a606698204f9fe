// An ELF object compiled by clang, through libbpf: open (parse ELF and BTF, no privilege needed),
// describe its programs and maps (with their BTF key/value types, so TypeScript can check its
// codecs before anything is loaded), load (CO-RE relocation against the running kernel's BTF,
// maps created, programs verified), then the fds of programs and maps by name.
//
// libbpf writes the verifier's log through its print callback; while an open or load runs, the
// callback collects everything it prints, and a failed load carries that text as the error's `log`
// (dataplane/ebpf/verifier-log.ts trims it to the failing instruction).
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <string>

#include "ebpf_common.h"

namespace kdp_ebpf {
namespace {

// Collects libbpf's messages during one open/load (always on the JS thread, one at a time).
bool capturing = false;
std::string captured;

int printToCapture(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (!capturing || level == LIBBPF_DEBUG) return 0;
  char line[4096];
  int n = vsnprintf(line, sizeof line, fmt, args);
  if (n > 0 && captured.size() < (4u << 20)) captured.append(line, std::min<size_t>(n, sizeof line - 1));
  return 0;
}

struct Capture {
  Capture() {
    captured.clear();
    capturing = true;
  }
  ~Capture() { capturing = false; }
};

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {InstanceMethod("programs", &BpfObject::Programs), InstanceMethod("maps", &BpfObject::Maps),
                        InstanceMethod("load", &BpfObject::Load), InstanceMethod("programFd", &BpfObject::ProgramFd),
                        InstanceMethod("mapFd", &BpfObject::MapFd), InstanceMethod("close", &BpfObject::Close)});
  }

  explicit BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    std::string path = stringArg(info, 0, "path");
    Capture capture;
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    int err = libbpf_get_error(obj_);
    if (err) {
      obj_ = nullptr;
      Napi::Error e = Napi::Error::New(info.Env(), kdp::errnoMessage("open BPF object " + path, -err));
      const char* name = strerrorname_np(-err);
      e.Set("code", Napi::String::New(info.Env(), name ? name : "EUNKNOWN"));
      e.Set("errno", Napi::Number::New(info.Env(), -err));
      e.Set("log", Napi::String::New(info.Env(), captured));
      throw e;
    }
  }

  ~BpfObject() override { release(); }

 private:
  bpf_object* obj_ = nullptr;
  bool loaded_ = false;

  void release() {
    if (obj_) bpf_object__close(obj_);  // closes every program and map fd it holds
    obj_ = nullptr;
  }

  bpf_object* live(Napi::Env env) {
    if (!obj_) throw Napi::Error::New(env, "the BPF object is closed");
    return obj_;
  }

  Napi::Value Programs(const Napi::CallbackInfo& info) {
    bpf_object* obj = live(info.Env());
    Napi::Array out = Napi::Array::New(info.Env());
    bpf_program* prog;
    uint32_t i = 0;
    bpf_object__for_each_program(prog, obj) {
      Napi::Object p = Napi::Object::New(info.Env());
      p.Set("name", bpf_program__name(prog));
      p.Set("section", bpf_program__section_name(prog));
      p.Set("type", static_cast<double>(bpf_program__type(prog)));
      p.Set("expectedAttachType", static_cast<double>(bpf_program__expected_attach_type(prog)));
      out.Set(i++, p);
    }
    return out;
  }

  Napi::Value Maps(const Napi::CallbackInfo& info) {
    bpf_object* obj = live(info.Env());
    const btf* b = bpf_object__btf(obj);
    Napi::Array out = Napi::Array::New(info.Env());
    bpf_map* map;
    uint32_t i = 0;
    bpf_object__for_each_map(map, obj) {
      Napi::Object m = Napi::Object::New(info.Env());
      m.Set("name", bpf_map__name(map));
      m.Set("type", static_cast<double>(bpf_map__type(map)));
      m.Set("keySize", static_cast<double>(bpf_map__key_size(map)));
      m.Set("valueSize", static_cast<double>(bpf_map__value_size(map)));
      m.Set("maxEntries", static_cast<double>(bpf_map__max_entries(map)));
      m.Set("internal", bpf_map__is_internal(map));
      uint32_t keyId = bpf_map__btf_key_type_id(map);
      uint32_t valueId = bpf_map__btf_value_type_id(map);
      if (b && keyId) m.Set("key", DescribeBtfType(info.Env(), b, keyId, 0));
      if (b && valueId) m.Set("value", DescribeBtfType(info.Env(), b, valueId, 0));
      out.Set(i++, m);
    }
    return out;
  }

  // Throws with `log` (libbpf's messages, the verifier's log among them) when the kernel refuses.
  Napi::Value Load(const Napi::CallbackInfo& info) {
    bpf_object* obj = live(info.Env());
    if (loaded_) throw Napi::Error::New(info.Env(), "the BPF object is already loaded");
    Capture capture;
    int err = bpf_object__load(obj);
    if (err) {
      int e = err < 0 ? -err : errno;
      Napi::Error ex = Napi::Error::New(info.Env(), kdp::errnoMessage("load BPF object", e));
      const char* name = strerrorname_np(e);
      ex.Set("code", Napi::String::New(info.Env(), name ? name : "EUNKNOWN"));
      ex.Set("errno", Napi::Number::New(info.Env(), e));
      ex.Set("log", Napi::String::New(info.Env(), captured));
      throw ex;
    }
    loaded_ = true;
    return info.Env().Undefined();
  }

  Napi::Value ProgramFd(const Napi::CallbackInfo& info) {
    bpf_object* obj = live(info.Env());
    std::string name = stringArg(info, 0, "name");
    bpf_program* prog = bpf_object__find_program_by_name(obj, name.c_str());
    if (!prog) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), bpf_program__fd(prog));
  }

  Napi::Value MapFd(const Napi::CallbackInfo& info) {
    bpf_object* obj = live(info.Env());
    std::string name = stringArg(info, 0, "name");
    bpf_map* map = bpf_object__find_map_by_name(obj, name.c_str());
    if (!map) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), bpf_map__fd(map));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }
};

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) sysError(info.Env(), "count possible CPUs", n);
  return Napi::Number::New(info.Env(), n);
}

// libbpf_probe_bpf_prog_type / _map_type: 1 supported, 0 not, negative when the probe itself failed.
Napi::Value ProbeProgType(const Napi::CallbackInfo& info) {
  int type = static_cast<int>(intArg(info, 0, "type", 0, 1000));
  return Napi::Number::New(info.Env(), libbpf_probe_bpf_prog_type(static_cast<bpf_prog_type>(type), nullptr));
}

Napi::Value ProbeMapType(const Napi::CallbackInfo& info) {
  int type = static_cast<int>(intArg(info, 0, "type", 0, 1000));
  return Napi::Number::New(info.Env(), libbpf_probe_bpf_map_type(static_cast<bpf_map_type>(type), nullptr));
}

}  // namespace

void InitObject(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(printToCapture);
  exports.Set("BpfObject", BpfObject::Define(env));
  exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus));
  exports.Set("probeProgType", Napi::Function::New(env, ProbeProgType));
  exports.Set("probeMapType", Napi::Function::New(env, ProbeMapType));
}

}  // namespace kdp_ebpf
