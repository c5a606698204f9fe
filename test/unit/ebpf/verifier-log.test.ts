/**
 * Trimming of a failed load's log (no kernel): the program, the failing instruction and the
 * verifier's reason are picked out of what libbpf printed, and long logs keep only their tail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import { loadError } from '../../../dataplane/ebpf/errors.ts';
import { trimVerifierLog } from '../../../dataplane/ebpf/verifier-log.ts';

const LOG = `libbpf: prog 'unchecked_read': BPF program load failed: Permission denied
libbpf: prog 'unchecked_read': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
; unsigned char* data = (unsigned char*)(long)skb->data; @ kdp_reject.bpf.c:8
0: (61) r1 = *(u32 *)(r1 +76)         ; R1=pkt(r=0)
; return data[20]; @ kdp_reject.bpf.c:9
1: (71) r0 = *(u8 *)(r1 +20)
invalid access to packet, off=20 size=1, R1(id=0,off=20,r=0)
R1 offset is outside of the packet
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'unchecked_read': failed to load: -13
libbpf: failed to load object 'x.o'
`;

test('the failing program, instruction and reason are picked out', () => {
  const t = trimVerifierLog(LOG);
  assert.equal(t.program, 'unchecked_read');
  assert.equal(t.instruction, '1: (71) r0 = *(u8 *)(r1 +20)');
  assert.equal(t.verdict, 'invalid access to packet, off=20 size=1, R1(id=0,off=20,r=0)');
  assert.doesNotMatch(t.text, /libbpf: failed to load object/, 'only the kernel log, not libbpf around it');
  assert.doesNotMatch(t.text, /processed 2 insns/);
});

test('a long log keeps only its last lines', () => {
  const states = Array.from({ length: 5000 }, (_, i) => `${i}: (b7) r0 = ${i}`).join('\n');
  const t = trimVerifierLog(
    `-- BEGIN PROG LOAD LOG --\n${states}\nback-edge from insn 4999 to 0\n-- END PROG LOAD LOG --`,
    10,
  );
  assert.equal(t.text.split('\n').length, 10);
  assert.equal(t.instruction, '4999: (b7) r0 = 4999');
  assert.equal(t.verdict, 'back-edge from insn 4999 to 0');
});

test('loadError is KDP_ERR_BPF_LOAD with the verdict in the message and the log in details', () => {
  const native = Object.assign(new Error('load BPF object: EACCES (Permission denied)'), {
    code: 'EACCES',
    log: LOG,
  });
  const e = loadError('x.o', native);
  assert.ok(isKdpError(e, 'KDP_ERR_BPF_LOAD'));
  assert.match(e.message, /program unchecked_read, instruction 1: \(71\).*: invalid access to packet/);
  assert.equal(e.details?.errno, 'EACCES');
  assert.match(String(e.details?.log), /R1 offset is outside of the packet/);
  assert.equal(e.cause, native);
});
