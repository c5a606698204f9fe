/**
 * ebpf-ts against the real kernel (root): load the fixture object (CO-RE relocated), map
 * operations single, batch and per-CPU, a verifier rejection with a readable log, BPF_PROG_TEST_RUN
 * with its ring buffer event; afterwards no bpf fd of this process remains and the host's root
 * namespace (links, routes, rules, sysctls; attached BPF programs) is unchanged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { isKdpError } from '../../../dataplane/errors.ts';
import { be16, ipv4, struct, u32, u64, u8 } from '../../../dataplane/ebpf/codec.ts';
import { BPF_OBJECT_DIR } from '../../../dataplane/ebpf/native.ts';
import { BpfObject } from '../../../dataplane/ebpf/object.ts';
import { diffSnapshots, snapshotRoot, type RootSnapshot } from '../helpers/root-snapshot.ts';
import { bpfFds, hostBpf } from './testbed.ts';

const isRoot = process.getuid?.() === 0;
const FIXTURE = join(BPF_OBJECT_DIR, 'kdp_test.bpf.o');
const flowKey = struct({ addr: ipv4, port: be16, proto: u8, pad: u8 });
const flowStats = struct({ packets: u64, bytes: u64 });
const event = struct({ len: u32, mark: u32 });
let rootBefore: RootSnapshot;
let hostBefore: string;
let fdsBefore: string[];

before(async () => {
  if (!isRoot) return;
  rootBefore = await snapshotRoot();
  hostBefore = await hostBpf();
  fdsBefore = bpfFds();
});

after(async () => {
  if (!isRoot) return;
  assert.deepEqual(bpfFds(), fdsBefore, 'every bpf fd the tests opened is closed');
  assert.equal(await hostBpf(), hostBefore, 'no BPF program on the host namespace or root cgroup');
  assert.deepEqual(diffSnapshots(rootBefore, await snapshotRoot()), [], 'the host root namespace changed');
});

const skip = !isRoot && 'needs root';

test('map operations: lookup, update flags, delete, iterate, batches', { skip }, () => {
  const obj = BpfObject.load(FIXTURE);
  try {
    const flows = obj.map('flows', flowKey, flowStats);
    const k = { addr: '10.244.1.2', port: 80, proto: 6, pad: 0 };
    assert.equal(flows.lookup(k), undefined);
    flows.update(k, { packets: 1n, bytes: 100n }, 'noexist');
    assert.deepEqual(flows.lookup(k), { packets: 1n, bytes: 100n });
    assert.throws(
      () => flows.update(k, { packets: 2n, bytes: 0n }, 'noexist'),
      (e) => isKdpError(e, 'KDP_ERR_BPF_SYSCALL') && /EEXIST/.test(e.message),
    );
    const other = { ...k, port: 81 };
    assert.throws(
      () => flows.update(other, { packets: 2n, bytes: 0n }, 'exist'),
      (e) => isKdpError(e, 'KDP_ERR_BPF_NOT_FOUND'),
    );
    flows.update(k, { packets: 2n, bytes: 200n }, 'exist');
    assert.deepEqual([...flows.entries()], [[k, { packets: 2n, bytes: 200n }]]);
    assert.equal(flows.delete(k), true);
    assert.equal(flows.delete(k), false);

    const entries = Array.from(
      { length: 3000 },
      (_, i) =>
        [
          { addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: i & 0xffff, proto: 17, pad: 0 },
          { packets: BigInt(i), bytes: BigInt(i) * 1500n },
        ] as const,
    );
    assert.equal(flows.updateBatch(entries), 3000);
    const read = flows.lookupBatch(256);
    assert.equal(read.length, 3000);
    const byPort = new Map(read.map(([key, v]) => [key.port, v.packets]));
    assert.ok(
      entries.every(([key, v]) => byPort.get(key.port) === v.packets),
      'every value read back',
    );
    assert.equal([...flows.keys()].length, 3000);
    assert.equal(flows.deleteBatch(entries.slice(0, 1000).map(([key]) => key)), 1000);
    assert.equal(flows.lookupBatch().length, 2000);
    assert.equal(flows.lookup(entries[0][0]), undefined);
    assert.deepEqual(flows.lookup(entries[1500][0]), entries[1500][1]);
  } finally {
    obj.close();
  }
});

test('per-CPU maps take and return one value per possible CPU', { skip }, () => {
  const obj = BpfObject.load(FIXTURE);
  try {
    const hits = obj.perCpuMap('hits', u32, u64);
    const cpus = hits.lookup(3)!.length;
    assert.ok(cpus >= 1);
    const values = Array.from({ length: cpus }, (_, i) => BigInt(10 + i));
    hits.update(3, values);
    assert.deepEqual(hits.lookup(3), values);
    assert.equal(hits.updateBatch([[2, values.map((v) => v * 2n)]]), 1);
    assert.deepEqual(
      hits.lookup(2),
      values.map((v) => v * 2n),
    );
    assert.equal(hits.lookupBatch().length, 4, 'an array map has all its slots');
  } finally {
    obj.close();
  }
});

test(
  'a program the verifier refuses: KDP_ERR_BPF_LOAD with the failing instruction and reason',
  { skip },
  () => {
    assert.throws(
      () => BpfObject.load(join(BPF_OBJECT_DIR, 'kdp_reject.bpf.o')),
      (e) => {
        assert.ok(isKdpError(e, 'KDP_ERR_BPF_LOAD'), String(e));
        assert.match(e.message, /program unchecked_read/);
        assert.match(e.message, /invalid access to packet/);
        assert.equal(e.details?.errno, 'EACCES');
        assert.match(String(e.details?.instruction), /^\d+: \(71\) r0 = \*\(u8 \*\)\(r1 \+20\)/);
        return true;
      },
    );
  },
);

test(
  'BPF_PROG_TEST_RUN: return value, map side effect, ring buffer event; CO-RE relocated',
  { skip },
  async () => {
    const obj = BpfObject.load(FIXTURE);
    const ring = obj.ringBuffer('events', event);
    try {
      const prog = obj.program('test_run');
      const hits = obj.perCpuMap('hits', u32, u64);
      const sum = () => hits.lookup(0)!.reduce((a, b) => a + b, 0n);
      const before = sum();
      const packet = Buffer.alloc(98, 0xab);
      const r = prog.testRun(packet, { repeat: 5 });
      assert.equal(r.retval, 98, 'the program returns skb->len');
      assert.equal(sum() - before, 5n, 'one hit per run');
      const events: { len: number; mark: number }[] = [];
      while (events.length < 5) {
        const got = await ring.poll(1000);
        assert.ok(got.length > 0, 'an event per run arrives');
        events.push(...got);
      }
      assert.deepEqual(events[0], { len: 98, mark: 0x6b6470 });
      // bpf_core_type_size(struct sk_buff): the running kernel's size, not the object's 4 bytes.
      const dump = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], {
        maxBuffer: 1 << 30,
      }).toString();
      const kernelSize = Number(/^\[\d+\] STRUCT 'sk_buff' size=(\d+)/m.exec(dump)?.[1]);
      assert.equal(obj.program('core_probe').testRun(Buffer.alloc(64)).retval, kernelSize);
    } finally {
      ring.close();
      obj.close();
    }
    assert.throws(
      () => obj.program('test_run').fd,
      (e) => isKdpError(e, 'KDP_ERR_BPF_CLOSED'),
    );
  },
);
