// Fixture object for ebpf-ts's tests (test/unit/ebpf, test/integration/ebpf): one map of each kind
// the library handles (hash with struct key and value, per-CPU array, ring buffer), one program per
// attach point it supports, a program for BPF_PROG_TEST_RUN and one CO-RE relocation against the
// running kernel's BTF. The programs do as little as possible: they exist to be loaded and attached.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

// Laid out as dataplane/ebpf tests describe it: 4 + 2 + 1 + 1 bytes, and two u64s.
struct flow_key {
  __u32 addr;
  __u16 port;
  __u8 proto;
  __u8 pad;
};

struct flow_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct flow_key);
  __type(value, struct flow_stats);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

// What test_run sends to the ring buffer for each run.
struct event {
  __u32 len;
  __u32 mark;
};

// Only the name matters: libbpf relocates its size to the running kernel's struct sk_buff.
struct sk_buff {
  int len;
} __attribute__((preserve_access_index));

static __always_inline void hit(__u32 slot) {
  __u64* v = bpf_map_lookup_elem(&hits, &slot);
  if (v) *v += 1;
}

// Counts into hits[0], sends an event, returns the packet length (test runs check all three).
SEC("tc")
int test_run(struct __sk_buff* skb) {
  hit(0);
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (e) {
    e->len = skb->len;
    e->mark = 0x6b6470;  // "kdp"
    bpf_ringbuf_submit(e, 0);
  }
  return skb->len;
}

// The kernel's sizeof(struct sk_buff) after CO-RE relocation (4 without it).
SEC("tc")
int core_probe(struct __sk_buff* skb) {
  return bpf_core_type_size(struct sk_buff);
}

SEC("tc")
int tc_pass(struct __sk_buff* skb) {
  hit(1);
  return TC_ACT_OK;
}

SEC("xdp")
int xdp_pass(struct xdp_md* ctx) {
  hit(2);
  return XDP_PASS;
}

SEC("cgroup_skb/ingress")
int skb_ingress(struct __sk_buff* skb) { return 1; }
SEC("cgroup_skb/egress")
int skb_egress(struct __sk_buff* skb) { return 1; }

// Refuses connects to port 9 (discard), so a test sees the hook act: EPERM instead of ECONNREFUSED.
SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr* ctx) { return ctx->user_port == bpf_htons(9) ? 0 : 1; }
SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr* ctx) { return 1; }
SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr* ctx) { return 1; }
SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr* ctx) { return 1; }
SEC("cgroup/recvmsg4")
int recvmsg4(struct bpf_sock_addr* ctx) { return 1; }
SEC("cgroup/recvmsg6")
int recvmsg6(struct bpf_sock_addr* ctx) { return 1; }
SEC("cgroup/getpeername4")
int getpeername4(struct bpf_sock_addr* ctx) { return 1; }
SEC("cgroup/getpeername6")
int getpeername6(struct bpf_sock_addr* ctx) { return 1; }

char LICENSE[] SEC("license") = "GPL";
