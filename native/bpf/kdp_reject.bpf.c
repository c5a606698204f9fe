// Fixture for ebpf-ts's verifier-error test: reads packet data without a bounds check, which the
// verifier refuses ("invalid access to packet"); the load error must carry that log line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int unchecked_read(struct __sk_buff* skb) {
  unsigned char* data = (unsigned char*)(long)skb->data;
  return data[20];  // no check against skb->data_end
}

char LICENSE[] SEC("license") = "GPL";
