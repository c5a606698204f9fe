/**
 * `kdp doctor`'s eBPF section: which program and map types the kernel loads (libbpf's probes),
 * and which attach points work, proven by attaching kdp's fixture programs for real inside the
 * doctor's throwaway namespace (its lo) and a throwaway cgroup kdp/doctor-<pid>, all detached and
 * removed before returning. Also BTF for CO-RE, clang for building native/bpf, the addon build.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroup, removeClusterCgroups } from './cgroup.ts';
import { attachCgroup, attachTc, attachXdp, CGROUP_HOOKS, type CgroupHook } from './links.ts';
import { BPF_OBJECT_DIR, loadEbpfAddon } from './native.ts';
import { BpfObject } from './object.ts';

export interface EbpfCheck {
  name: string;
  ok: boolean;
  detail: string;
  disables: string;
}

const PROG_TYPES: [string, number][] = [
  ['socket_filter', 1],
  ['sched_cls', 3],
  ['xdp', 6],
  ['cgroup_skb', 8],
  ['cgroup_sock_addr', 18],
];
const MAP_TYPES: [string, number][] = [
  ['hash', 1],
  ['array', 2],
  ['percpu_hash', 5],
  ['percpu_array', 6],
  ['lru_hash', 9],
  ['ringbuf', 27],
];

export async function ebpfChecks(namespace: string | undefined): Promise<EbpfCheck[]> {
  const checks: EbpfCheck[] = [];
  const disables = 'ebpf-ts (kdp bpf, cluster.bpf) and the eBPF proxy mode';
  checks.push({
    name: 'BTF (CO-RE)',
    ok: existsSync('/sys/kernel/btf/vmlinux'),
    detail: existsSync('/sys/kernel/btf/vmlinux') ? '/sys/kernel/btf/vmlinux' : 'no /sys/kernel/btf/vmlinux',
    disables: 'CO-RE relocation of BPF objects against this kernel',
  });
  let addon;
  try {
    addon = loadEbpfAddon();
  } catch (e) {
    checks.push({ name: 'eBPF addon', ok: false, detail: (e as Error).message, disables });
    return checks;
  }
  const probe = (f: (t: number) => number, list: [string, number][]) => {
    const yes = list.filter(([, t]) => f(t) === 1).map(([n]) => n);
    const no = list.filter(([, t]) => f(t) !== 1).map(([n]) => n);
    return {
      ok: no.length === 0,
      detail: `${yes.join(', ') || 'none'}${no.length ? `; missing: ${no.join(', ')}` : ''}`,
    };
  };
  checks.push({ name: 'BPF program types', ...probe((t) => addon.probeProgType(t), PROG_TYPES), disables });
  checks.push({ name: 'BPF map types', ...probe((t) => addon.probeMapType(t), MAP_TYPES), disables });
  checks.push(...(await attachChecks(namespace)));
  return checks;
}

/** Each attach point tried for real; detached at once. */
async function attachChecks(namespace: string | undefined): Promise<EbpfCheck[]> {
  const fixture = join(BPF_OBJECT_DIR, 'kdp_test.bpf.o');
  const disables = 'attaching programs there (kdp bpf attach, cluster.bpf)';
  if (!namespace || !existsSync(fixture))
    return [
      {
        name: 'BPF attach points',
        ok: false,
        detail: namespace ? `${fixture} not built (run scripts/setup.sh)` : 'not probed: no test namespace',
        disables,
      },
    ];
  const ok: string[] = [];
  const failed: string[] = [];
  const attempt = (name: string, fn: () => { close(): void }) => {
    try {
      fn().close();
      ok.push(name);
    } catch (e) {
      failed.push(`${name} (${(e as Error).message.split(': ').at(-1)})`);
    }
  };
  let obj: BpfObject | undefined;
  const cluster = `doctor-${process.pid}`;
  try {
    obj = BpfObject.load(fixture);
    const o = obj;
    const target = { namespace, ifname: 'lo' };
    attempt('tcx ingress', () =>
      attachTc(o.program('tc_pass'), target, { direction: 'ingress', mode: 'tcx' }),
    );
    attempt('tcx egress', () => attachTc(o.program('tc_pass'), target, { direction: 'egress', mode: 'tcx' }));
    attempt('tc cls_bpf', () =>
      attachTc(o.program('tc_pass'), target, { direction: 'ingress', mode: 'cls' }),
    );
    attempt('xdp generic', () => attachXdp(o.program('xdp_pass'), target, { mode: 'generic' }));
    const cg = createCgroup(cluster);
    for (const hook of Object.keys(CGROUP_HOOKS) as CgroupHook[]) {
      const prog = hook === 'ingress' ? 'skb_ingress' : hook === 'egress' ? 'skb_egress' : hook;
      attempt(`cgroup ${hook}`, () => attachCgroup(o.program(prog), cg, hook));
    }
  } catch (e) {
    failed.push((e as Error).message);
  } finally {
    obj?.close();
    await removeClusterCgroups(cluster).catch(() => {});
  }
  return [
    {
      name: 'BPF attach points',
      ok: failed.length === 0,
      detail: `${ok.join(', ') || 'none'}${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
      disables,
    },
  ];
}
