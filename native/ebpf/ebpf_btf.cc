// A BTF type as a plain object, for the codec check in dataplane/ebpf/btf-check.ts:
// { kind, name, size, members?: [{ name, offset, bitOffset, bitSize, type }], elem?, count? }.
// Typedefs and qualifiers are looked through (their name kept as `typedef`), offsets are in bytes
// (bitOffset is the member's offset in bits, for bitfields), nesting is cut at a few levels.
#include <bpf/btf.h>

#include "ebpf_common.h"

namespace kdp_ebpf {
namespace {

const char* kindName(uint16_t kind) {
  switch (kind) {
    case BTF_KIND_INT: return "int";
    case BTF_KIND_PTR: return "ptr";
    case BTF_KIND_ARRAY: return "array";
    case BTF_KIND_STRUCT: return "struct";
    case BTF_KIND_UNION: return "union";
    case BTF_KIND_ENUM: return "enum";
    case BTF_KIND_FWD: return "fwd";
    case BTF_KIND_FLOAT: return "float";
    case BTF_KIND_ENUM64: return "enum";
    default: return "other";
  }
}

}  // namespace

Napi::Value DescribeBtfType(Napi::Env env, const struct btf* btf, uint32_t id, int depth) {
  Napi::Object out = Napi::Object::New(env);
  const btf_type* t = btf__type_by_id(btf, id);
  std::string typedefName;
  // Look through typedef, const, volatile, restrict, type tags.
  while (t && (btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t))) {
    if (btf_is_typedef(t) && typedefName.empty()) typedefName = btf__name_by_offset(btf, t->name_off);
    id = t->type;
    t = btf__type_by_id(btf, id);
  }
  if (!t) {
    out.Set("kind", "other");
    return out;
  }
  out.Set("kind", kindName(btf_kind(t)));
  out.Set("name", btf__name_by_offset(btf, t->name_off));
  if (!typedefName.empty()) out.Set("typedef", typedefName);
  long long size = btf__resolve_size(btf, id);
  out.Set("size", static_cast<double>(size < 0 ? 0 : size));
  if (btf_is_int(t)) {
    out.Set("signed", (btf_int_encoding(t) & BTF_INT_SIGNED) != 0);
  } else if (btf_is_array(t) && depth < 4) {
    const struct btf_array* a = btf_array(t);
    out.Set("count", static_cast<double>(a->nelems));
    out.Set("elem", DescribeBtfType(env, btf, a->type, depth + 1));
  } else if (btf_is_composite(t) && depth < 4) {
    Napi::Array members = Napi::Array::New(env);
    const struct btf_member* m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
      Napi::Object mo = Napi::Object::New(env);
      uint32_t bitOffset = btf_member_bit_offset(t, i);
      mo.Set("name", btf__name_by_offset(btf, m->name_off));
      mo.Set("offset", static_cast<double>(bitOffset / 8));
      mo.Set("bitOffset", static_cast<double>(bitOffset));
      mo.Set("bitSize", static_cast<double>(btf_member_bitfield_size(t, i)));
      mo.Set("type", DescribeBtfType(env, btf, m->type, depth + 1));
      members.Set(i, mo);
    }
    out.Set("members", members);
  }
  return out;
}

}  // namespace kdp_ebpf
