/**
 * Run by cleanup.test.ts as a separate process: loads the fixture, attaches tcx ingress in the
 * given kdp namespace and connect4 to the given kdp cgroup, moves itself into that cgroup, prints
 * the link ids as one JSON line, then waits to be killed with SIGKILL.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { attachCgroup, attachTc } from '../../../dataplane/ebpf/links.ts';
import { BPF_OBJECT_DIR } from '../../../dataplane/ebpf/native.ts';
import { BpfObject } from '../../../dataplane/ebpf/object.ts';

const [namespace, cgroup] = process.argv.slice(2);
const obj = BpfObject.load(join(BPF_OBJECT_DIR, 'kdp_test.bpf.o'));
const tc = attachTc(obj.program('tc_pass'), { namespace, ifname: 'v1' }, { direction: 'ingress' });
const cg = attachCgroup(obj.program('connect4'), cgroup, 'connect4');
writeFileSync(join(cgroup, 'cgroup.procs'), String(process.pid));
console.log(JSON.stringify({ links: [tc.id, cg.id] }));
setInterval(() => {}, 1 << 30);
