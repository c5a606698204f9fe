/**
 * ebpf-ts map operation costs against the physical reference (map-loop.c: the same calls from C):
 * single updates from TypeScript (codec encode + N-API + bpf()) timed one by one for p50/p99, and
 * a 10k-entry BPF_MAP_UPDATE_BATCH, with and without encoding the entries from objects. One run,
 * both sides in the same minute; figures go to docs/PERFORMANCE.md ("eBPF bindings"). Root.
 *
 *   node --import tsx bench/ebpf/map-ops.ts [singles=10000] [rounds=20]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { be16, ipv4, struct, u64, u8 } from '../../dataplane/ebpf/codec.ts';
import { BPF_OBJECT_DIR } from '../../dataplane/ebpf/native.ts';
import { BpfObject } from '../../dataplane/ebpf/object.ts';

const singles = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 20);
const BATCH = 10_000;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length * p) / 100)];
const ns = () => Number(process.hrtime.bigint());

function typescriptSide() {
  const obj = BpfObject.load(join(BPF_OBJECT_DIR, 'kdp_test.bpf.o'));
  try {
    const flows = obj.map(
      'flows',
      struct({ addr: ipv4, port: be16, proto: u8, pad: u8 }),
      struct({ packets: u64, bytes: u64 }),
    );
    const key = (i: number) => ({
      addr: `10.0.${(i >> 8) & 255}.${i & 255}`,
      port: i & 0xffff,
      proto: 6,
      pad: 0,
    });
    const value = { packets: 1n, bytes: 1500n };
    const keys = Array.from({ length: 16384 }, (_, i) => key(i));
    for (let i = 0; i < 1000; i++) flows.update(keys[i], value); // warm up
    const single: number[] = [];
    for (let i = 0; i < singles; i++) {
      const k = keys[i % 16384];
      const t0 = ns();
      flows.update(k, value);
      single.push(ns() - t0);
    }
    const entries = Array.from(
      { length: BATCH },
      (_, i) => [keys[i], { packets: BigInt(i), bytes: BigInt(i * 1500) }] as const,
    );
    const encoded: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = ns();
      flows.updateBatch(entries);
      encoded.push(ns() - t0);
    }
    const kbuf = Buffer.alloc(BATCH * 8);
    const vbuf = Buffer.alloc(BATCH * 16);
    entries.forEach(([k, v], i) => {
      flows.keyCodec.encode(k, kbuf, i * 8);
      flows.valueCodec.encode(v, vbuf, i * 16);
    });
    const raw: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = ns();
      flows.updateBatchRaw(kbuf, vbuf, BATCH);
      raw.push(ns() - t0);
    }
    return {
      singleP50Ns: pct(single, 50),
      singleP99Ns: pct(single, 99),
      batch10kMedianNs: pct(encoded, 50),
      batch10kRawMedianNs: pct(raw, 50),
    };
  } finally {
    obj.close();
  }
}

const bin = '/tmp/kdp-bench-map-loop';
execFileSync('gcc', ['-O2', '-o', bin, join(import.meta.dirname, 'map-loop.c'), '-lbpf']);
const ts = typescriptSide();
const c = JSON.parse(execFileSync(bin, [String(singles), String(rounds)]).toString()) as typeof ts;
const us = (n: number) => (n / 1000).toFixed(2);
const ms = (n: number) => (n / 1e6).toFixed(2);
console.log(`| operation | TypeScript | C (libbpf) | ratio |`);
console.log(`| --- | ---: | ---: | ---: |`);
console.log(
  `| single update p50 | ${us(ts.singleP50Ns)} us | ${us(c.singleP50Ns)} us | ${(ts.singleP50Ns / c.singleP50Ns).toFixed(2)}x |`,
);
console.log(
  `| single update p99 | ${us(ts.singleP99Ns)} us | ${us(c.singleP99Ns)} us | ${(ts.singleP99Ns / c.singleP99Ns).toFixed(2)}x |`,
);
console.log(
  `| batch update 10k, from objects (median of ${rounds}) | ${ms(ts.batch10kMedianNs)} ms | ${ms(c.batch10kMedianNs)} ms | ${(ts.batch10kMedianNs / c.batch10kMedianNs).toFixed(2)}x |`,
);
console.log(
  `| batch update 10k, pre-encoded (median of ${rounds}) | ${ms(ts.batch10kRawMedianNs)} ms | ${ms(c.batch10kMedianNs)} ms | ${(ts.batch10kRawMedianNs / c.batch10kMedianNs).toFixed(2)}x |`,
);
