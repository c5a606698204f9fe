/**
 * The checks behind `kdp doctor`: which kernel features and tools this machine has, each proven
 * by trying it inside a throwaway network namespace (kdp-doctor-<pid>, deleted afterwards) rather
 * than guessed from version numbers, and never in the host's own namespace. A missing feature
 * says what in kdp it disables. Nothing is loaded or changed on the host: IPVS counts as present
 * only when the kernel already offers it; an unloaded module is reported as such.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ebpfChecks } from '../ebpf/doctor.ts';
import { netnsPath } from '../kernel/name-checks.ts';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** What was found, or why it is missing. */
  detail: string;
  /** What kdp cannot do without it. */
  disables: string;
  /** kdp cannot build clusters at all without it. */
  required: boolean;
}

interface Probe {
  name: string;
  disables: string;
  required?: boolean;
  run(ns: string): Promise<string>;
}

function run(argv: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n')[0];
        reject(
          new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${argv[0]} is not installed` : why),
        );
      } else resolve(stdout.trim());
    });
  });
}

/** Runs argv inside the doctor's namespace. */
const inNs = (ns: string, argv: string[]) => run(['nsenter', `--net=${netnsPath(ns)}`, '--', ...argv]);

export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

function kernelConfig(): string {
  try {
    return gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    try {
      return readFileSync(
        `/boot/config-${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`,
        'utf8',
      );
    } catch {
      return '';
    }
  }
}

const linkProbe = (name: string, argv: string[], disables: string, required = false): Probe => ({
  name,
  disables,
  required,
  run: async (ns) => {
    await run(['ip', '-n', ns, 'link', 'add', ...argv]);
    return 'created one in a test namespace';
  },
});

const NAMESPACE_PROBES: Probe[] = [
  linkProbe(
    'veth',
    ['d0', 'type', 'veth', 'peer', 'name', 'd1'],
    'everything: pods and nodes are joined by veth pairs',
    true,
  ),
  linkProbe('bridge', ['br0', 'type', 'bridge'], 'everything: the underlay and each node use a bridge', true),
  {
    name: 'tun',
    disables: 'overlay backends udp and udp-ts (flannel-style UDP encapsulation through TUN)',
    run: async (ns) => {
      if (!existsSync('/dev/net/tun')) throw new Error('/dev/net/tun does not exist');
      await run(['ip', '-n', ns, 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun']);
      return '/dev/net/tun; created a TUN device in a test namespace';
    },
  },
  linkProbe('vxlan', ['vx0', 'type', 'vxlan', 'id', '42', 'dstport', '8472'], 'overlay backend vxlan'),
  {
    // What a kdp/dns pod does: port 53 as uid 65534 with no capabilities, in a namespace whose
    // unprivileged port range starts at 0 (as the agent sets every pod's), with dns-packet.
    name: 'cluster DNS',
    disables: 'cluster DNS (kdp/dns pods behind kube-dns; kdp up --dns=false goes without)',
    run: async (ns) => {
      const lib = import.meta.resolve('dns-packet');
      await inNs(ns, ['sysctl', '-qw', 'net.ipv4.ip_unprivileged_port_start=0']);
      await inNs(ns, [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        process.execPath,
        '-e',
        "const s = require('node:dgram').createSocket('udp4'); s.bind(53, '127.0.0.1', () => s.close());",
      ]);
      return `dns-packet at ${lib.replace(/^file:\/\//, '')}; UDP port 53 bound by uid 65534 without capabilities`;
    },
  },
  {
    name: 'iptables (nft)',
    disables: 'proxy mode iptables (nft backend) and SNAT on nodes',
    run: async (ns) => {
      await inNs(ns, ['iptables-nft', '-w', '-t', 'nat', '-N', 'KDP-DOCTOR']);
      return (await run(['iptables-nft', '--version'])).replace(/^iptables /, '');
    },
  },
  {
    name: 'iptables (legacy)',
    disables: 'proxy mode iptables on the legacy backend (as older kube-proxy deployments run it)',
    run: async (ns) => {
      await inNs(ns, ['iptables-legacy', '-w', '-t', 'nat', '-N', 'KDP-DOCTOR']);
      return (await run(['iptables-legacy', '--version'])).replace(/^iptables /, '');
    },
  },
  {
    name: 'ipset',
    disables: 'proxy mode ipvs (kube-proxy keeps its ipvs match sets in ipset)',
    run: async (ns) => {
      await inNs(ns, ['ipset', 'create', 'kdp-doctor', 'hash:ip']);
      return await run(['ipset', '--version']);
    },
  },
  {
    name: 'nft',
    disables: 'reading nft rules in tests and nft-based proxy modes',
    run: async (ns) => {
      await inNs(ns, ['nft', 'add', 'table', 'inet', 'kdp_doctor']);
      return await run(['nft', '--version']);
    },
  },
  {
    name: 'IPVS',
    disables:
      'proxy mode ipvs on this host (use iptables, or run kdp under a kernel with IP_VS, e.g. in a VM)',
    run: async (ns) => {
      if ((await inNs(ns, ['sh', '-c', 'test -e /proc/net/ip_vs && echo yes || echo no'])) === 'yes') {
        return '/proc/net/ip_vs present';
      }
      try {
        await run(['modprobe', '-n', '-q', 'ip_vs']);
      } catch {
        throw new Error('no /proc/net/ip_vs and no ip_vs module for this kernel');
      }
      throw new Error('ip_vs is a module that is not loaded (modprobe ip_vs would load it)');
    },
  },
  {
    name: 'br_netfilter',
    disables:
      "Service traffic from a pod to a backend on its own node (the reply is bridged past the node's NAT) and hairpin",
    run: async (ns) => {
      const on = await inNs(ns, ['cat', '/proc/sys/net/bridge/bridge-nf-call-iptables']).catch(() => {
        throw new Error('br_netfilter is not loaded (kdp loads no modules: modprobe br_netfilter)');
      });
      if (on !== '1') throw new Error(`bridge-nf-call-iptables is ${on} in a new namespace`);
      return 'bridged traffic passes iptables (bridge-nf-call-iptables = 1 in a new namespace)';
    },
  },
  {
    name: 'conntrack',
    disables:
      'clearing stale conntrack entries when endpoints go (UDP services) and conntrack checks in tests',
    run: async (ns) => {
      await inNs(ns, ['conntrack', '-L']);
      return await run(['conntrack', '--version']);
    },
  },
];

function bpfCheck(): DoctorCheck {
  const config = kernelConfig();
  const disables = 'the eBPF proxy mode (later)';
  const syscall = /^CONFIG_BPF_SYSCALL=y/m.test(config);
  const fs = readFileSync('/proc/filesystems', 'utf8').includes('\tbpf\n') || existsSync('/sys/fs/bpf');
  if (syscall && fs)
    return {
      name: 'BPF',
      ok: true,
      detail: 'bpf() syscall (CONFIG_BPF_SYSCALL) and bpffs',
      disables,
      required: false,
    };
  const missing = [
    !syscall && (config ? 'CONFIG_BPF_SYSCALL is not set' : 'kernel config not readable'),
    !fs && 'no bpf filesystem',
  ];
  return { name: 'BPF', ok: false, detail: missing.filter(Boolean).join('; '), disables, required: false };
}

const TOOLS: [string, string][] = [
  ['iperf3', 'kdp/iperf3 pods and throughput benchmarks'],
  ['sockperf', 'kdp/sockperf pods and latency benchmarks'],
  ['wrk', 'HTTP connection-rate benchmarks'],
  ['dnsperf', 'the cluster DNS benchmark (docs/PERFORMANCE.md, "Cluster DNS")'],
  ['nsd', 'the real DNS server the cluster DNS benchmark compares against'],
  ['kubectl', 'kubectl against kdp clusters (kdp get/apply cover the basics) and the kubectl tests'],
];

export async function runDoctor(): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const ns = `kdp-doctor-${process.pid}`;
  let created = false;
  try {
    if (process.getuid?.() !== 0)
      throw new Error('not root: namespaces cannot be created (run kdp doctor as root)');
    if (!which('nsenter')) throw new Error('nsenter (util-linux) is not installed');
    await run(['ip', 'netns', 'add', ns]);
    created = true;
    checks.push({
      name: 'netns',
      ok: true,
      detail: 'created a network namespace',
      disables: 'everything',
      required: true,
    });
  } catch (e) {
    checks.push({
      name: 'netns',
      ok: false,
      detail: (e as Error).message,
      disables: 'everything: nodes and pods are network namespaces',
      required: true,
    });
  }
  for (const probe of NAMESPACE_PROBES) {
    const base = { name: probe.name, disables: probe.disables, required: probe.required ?? false };
    if (!created) {
      checks.push({ ...base, ok: false, detail: 'not probed: no test namespace' });
      continue;
    }
    try {
      checks.push({ ...base, ok: true, detail: await probe.run(ns) });
    } catch (e) {
      checks.push({ ...base, ok: false, detail: (e as Error).message });
    }
  }
  // eBPF probes attach to the test namespace's lo, so they run before it goes.
  for (const c of await ebpfChecks(created ? ns : undefined)) checks.push({ ...c, required: false });
  if (created) await run(['ip', 'netns', 'del', ns]).catch(() => {});
  checks.push(bpfCheck());
  for (const [tool, disables] of TOOLS) {
    const path = which(tool);
    checks.push({ name: tool, ok: !!path, detail: path ?? 'not installed', disables, required: false });
  }
  return checks;
}
