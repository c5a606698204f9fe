// The physical reference for bench/ebpf/map-ops.ts: the same map operations from C with libbpf,
// no N-API in between. A hash map shaped like kdp_test.bpf.o's `flows` (8-byte key, 16-byte value,
// 16384 entries); single updates timed one by one (p50/p99), then BPF_MAP_UPDATE_BATCH of 10k
// entries, `rounds` times. Prints one JSON line. Built and run by map-ops.ts.
#include <bpf/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int singles = argc > 1 ? atoi(argv[1]) : 10000;
  int rounds = argc > 2 ? atoi(argv[2]) : 20;
  const int batch = 10000;
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ref_flows", 8, 16, 16384, NULL);
  if (fd < 0) {
    perror("bpf_map_create");
    return 1;
  }
  uint64_t key = 0, value[2] = {1, 1500};
  double* t = calloc(singles > rounds ? singles : rounds, sizeof(double));
  for (int i = 0; i < singles; i++) {
    key = i % 16384;
    double t0 = now_ns();
    if (bpf_map_update_elem(fd, &key, value, BPF_ANY) != 0) return perror("update"), 1;
    t[i] = now_ns() - t0;
  }
  qsort(t, singles, sizeof(double), cmp);
  double p50 = t[singles / 2], p99 = t[singles * 99 / 100];
  uint64_t* keys = calloc(batch, 8);
  uint64_t* values = calloc(batch, 16);
  for (int i = 0; i < batch; i++) keys[i] = i, values[2 * i] = i, values[2 * i + 1] = i * 1500;
  for (int r = 0; r < rounds; r++) {
    uint32_t count = batch;
    double t0 = now_ns();
    if (bpf_map_update_batch(fd, keys, values, &count, NULL) != 0) return perror("batch"), 1;
    t[r] = now_ns() - t0;
  }
  qsort(t, rounds, sizeof(double), cmp);
  printf("{\"singleP50Ns\":%.0f,\"singleP99Ns\":%.0f,\"batch10kMedianNs\":%.0f}\n", p50, p99, t[rounds / 2]);
  return 0;
}
