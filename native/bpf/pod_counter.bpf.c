// Per-pod packet and byte counter (scenarios/bpf-pod-counter.ts): attached at tc ingress of a pod's
// veth on the node side, it sees every packet the pod sends, and counts IPv4 packets and bytes per
// source address in a per-CPU hash (no atomic operations shared between CPUs); the scenario sums
// the CPUs' values from TypeScript.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct pod_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);  // IPv4 source address, network byte order
  __type(value, struct pod_stats);
} pod_stats SEC(".maps");

SEC("tc")
int count_pod(struct __sk_buff* skb) {
  void* data = (void*)(long)skb->data;
  void* end = (void*)(long)skb->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = data + sizeof(*eth);
  if ((void*)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  __u32 src = ip->saddr;
  struct pod_stats* s = bpf_map_lookup_elem(&pod_stats, &src);
  if (!s) {
    struct pod_stats zero = {};
    bpf_map_update_elem(&pod_stats, &src, &zero, BPF_NOEXIST);
    s = bpf_map_lookup_elem(&pod_stats, &src);
    if (!s) return TC_ACT_OK;
  }
  s->packets += 1;
  s->bytes += skb->len;
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
