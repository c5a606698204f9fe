/**
 * Codecs checked against a real object's BTF (build/bpf/kdp_test.bpf.o, compiled by setup.sh),
 * opened without loading, so no root and no kernel: matching codecs pass, and every kind of
 * mismatch (size, offset, missing or extra field, wrong kind, per-CPU misuse) is an error naming
 * the field. Also what the object lists and the errors for unknown names and files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isKdpError } from '../../../dataplane/errors.ts';
import { compareWithBtf } from '../../../dataplane/ebpf/btf-check.ts';
import { array, be16, bytes, ipv4, struct, u16, u32, u64, u8 } from '../../../dataplane/ebpf/codec.ts';
import { BPF_OBJECT_DIR } from '../../../dataplane/ebpf/native.ts';
import { BpfObject } from '../../../dataplane/ebpf/object.ts';

const FIXTURE = join(BPF_OBJECT_DIR, 'kdp_test.bpf.o');
const flowKey = struct({ addr: ipv4, port: be16, proto: u8, pad: u8 });
const flowStats = struct({ packets: u64, bytes: u64 });

test('the object lists its programs and maps without being loaded', () => {
  const obj = BpfObject.open(FIXTURE);
  try {
    assert.equal(obj.loaded, false);
    const progs = Object.fromEntries(obj.programInfo.map((p) => [p.name, p.section]));
    assert.equal(progs.test_run, 'tc');
    assert.equal(progs.xdp_pass, 'xdp');
    assert.equal(progs.connect4, 'cgroup/connect4');
    assert.equal(progs.getpeername6, 'cgroup/getpeername6');
    const flows = obj.mapInfo.find((m) => m.name === 'flows');
    assert.deepEqual([flows?.keySize, flows?.valueSize, flows?.maxEntries], [8, 16, 16384]);
    assert.equal(flows?.key?.name, 'flow_key');
  } finally {
    obj.close();
  }
});

test('matching codecs are accepted; fds need load() first', () => {
  const obj = BpfObject.open(FIXTURE);
  try {
    const flows = obj.map('flows', flowKey, flowStats);
    assert.equal(flows.name, 'flows');
    assert.throws(
      () => flows.fd,
      (e) => isKdpError(e) && /load\(\) the object/.test(e.message),
    );
    obj.perCpuMap('hits', u32, u64);
  } finally {
    obj.close();
  }
});

test('a mismatched codec is KDP_ERR_BPF_CODEC naming the field', () => {
  const obj = BpfObject.open(FIXTURE);
  const codecError = (re: RegExp) => (e: unknown) => isKdpError(e, 'KDP_ERR_BPF_CODEC') && re.test(e.message);
  try {
    // Same size, fields swapped: offsets differ.
    const swapped = struct({ bytes: u64, packets: u64 });
    assert.throws(
      () => obj.map('flows', flowKey, swapped),
      codecError(/value\.bytes: offset 0 in the codec, 8 in BTF/),
    );
    // A field named differently.
    const renamed = struct({ packets: u64, octets: u64 });
    assert.throws(
      () => obj.map('flows', flowKey, renamed),
      codecError(/value\.octets: no such field.*value\.bytes: in BTF at offset 8, missing from the codec/),
    );
    // Same total size, a field of the wrong width: port as u8 + extra u8.
    const narrow = struct({ addr: u32, port: u8, x: u8, proto: u8, pad: u8 });
    assert.throws(
      () => obj.map('flows', narrow, flowStats),
      codecError(/key\.port: 1 bytes in the codec, 2 in BTF/),
    );
    // Wrong total size is caught before BTF.
    assert.throws(
      () => obj.map('flows', struct({ addr: u32 }), flowStats),
      codecError(/key codec is 4 bytes, the map's key 8/),
    );
    assert.throws(() => obj.map('hits', u32, u64), codecError(/per-CPU: use perCpuMap/));
    assert.throws(() => obj.perCpuMap('flows', flowKey, flowStats), codecError(/not per-CPU/));
    assert.throws(
      () => obj.map('nope', u32, u32),
      (e) => isKdpError(e, 'KDP_ERR_BPF_NOT_FOUND') && /it has: .*flows/.test(e.message),
    );
    assert.throws(
      () => obj.program('nope'),
      (e) => isKdpError(e, 'KDP_ERR_BPF_NOT_FOUND'),
    );
  } finally {
    obj.close();
  }
});

test('compareWithBtf: arrays, opaque bytes and kinds', () => {
  const arr = { kind: 'array' as const, size: 8, count: 4, elem: { kind: 'int' as const, size: 2 } };
  assert.deepEqual(compareWithBtf(array(u16, 4).shape, arr, 'v'), []);
  assert.deepEqual(compareWithBtf(bytes(8).shape, arr, 'v'), [], 'bytes only check the size');
  assert.match(compareWithBtf(u64.shape, arr, 'v')[0], /v: an integer in the codec, array of 8 bytes in BTF/);
  assert.match(compareWithBtf(array(u8, 8).shape, arr, 'v')[0], /v: 8 elements in the codec, 4 in BTF/);
});

test('opening a missing or non-BPF file is a clear error', () => {
  assert.throws(
    () => BpfObject.open('/nonexistent/x.bpf.o'),
    (e) =>
      isKdpError(e, 'KDP_ERR_BPF_NOT_FOUND') && /open BPF object \/nonexistent\/x\.bpf\.o/.test(e.message),
  );
  assert.throws(
    () => BpfObject.open(import.meta.filename),
    (e) => isKdpError(e, 'KDP_ERR_BPF_OPEN'),
  );
});
