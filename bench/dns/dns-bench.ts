/**
 * The cluster DNS benchmark (docs/PERFORMANCE.md, "Cluster DNS"), one run:
 *
 *   node --import tsx bench/dns/dns-bench.ts [--seconds 10] [--services 50]
 *
 * A 2-node cluster (iptables proxy) with the DNS Deployment scaled to 1 pod and `--services`
 * Services in namespace bench. The anchor is Debian's nsd, one server process, serving the same
 * records (a zone file written from the cluster's Services) in a kdp/pause pod's network namespace
 * behind a ClusterIP Service of its own, so both are asked on the same path: dnsperf in a pod on
 * node-1, through its node's proxy, across the underlay, to the pod on node-2. Measured: queries/s
 * at dnsperf's default 100 outstanding, the server's CPU seconds over the run (from /proc), so
 * queries per CPU-second, and p50/p99 latency at a fixed 1000 queries/s (dnsperf -v). Then the
 * cost of ndots:5 from a pod's own resolv.conf: a name outside the cluster looked up short (the
 * search path first) and as an FQDN. Everything stays inside the cluster's namespaces; the
 * cluster and nsd are removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Namespace, Pod, Service } from '../../dataplane/api/types.ts';
import { podObject } from '../../dataplane/cluster/builder-objects.ts';
import { Cluster } from '../../dataplane/cluster/cluster.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, services: { type: 'string', default: '50' } },
});
const seconds = Number(values.seconds);
const serviceCount = Number(values.services);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The pid of the process whose command line starts with `prefix`. */
function pidByCmdline(prefix: string): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith(prefix)) return Number(d);
    } catch {
      // gone
    }
  }
  throw new Error(`no process ${prefix}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const cluster = `dnsbench${process.pid % 1000}`;
  const dir = mkdtempSync(join(tmpdir(), 'kdp-dnsbench-'));
  let nsd: ReturnType<typeof spawn> | undefined;
  const c = await Cluster.create({ cluster, nodes: 2, podsPerNode: 0 }, { handleSignals: true });
  try {
    await c.client
      .resource<Namespace>('namespaces')
      .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    const svcApi = c.client.resource<Service>('services');
    for (let i = 0; i < serviceCount; i++) {
      await svcApi.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${i}`, namespace: 'bench' },
        spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      });
    }
    await c.scale('coredns', 1, { namespace: 'kube-system' });
    await c.addPod('dnsclient', { image: 'kdp/pause', node: 'node-1' });
    await c.addPod('anchor', { image: 'kdp/pause', node: 'node-2', labels: { app: 'anchor' } });
    const anchor = await svcApi.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'anchor-dns', namespace: 'default' },
      spec: {
        selector: { app: 'anchor' },
        ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }],
      },
    });

    // The same records for nsd: every ClusterIP Service's A record, TTL 5, the same SOA.
    const services = (await svcApi.listAll()).items.filter(
      (s) => s.spec.clusterIP && s.spec.clusterIP !== 'None',
    );
    const zone = [
      '$ORIGIN cluster.local.',
      '@ 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5',
      '@ 5 IN NS ns.dns.cluster.local.',
      ...services.map((s) => `${s.metadata.name}.${s.metadata.namespace}.svc 5 IN A ${s.spec.clusterIP}`),
    ];
    writeFileSync(join(dir, 'cluster.local.zone'), `${zone.join('\n')}\n`);
    writeFileSync(
      join(dir, 'nsd.conf'),
      [
        'server:',
        '  ip-address: 0.0.0.0',
        '  port: 53',
        '  server-count: 1',
        '  username: ""',
        `  zonesdir: "${dir}"`,
        `  pidfile: "${dir}/nsd.pid"`,
        `  zonelistfile: "${dir}/zone.list"`,
        `  xfrdfile: "${dir}/xfrd.state"`,
        '  database: ""',
        '  verbosity: 0',
        'remote-control:',
        '  control-enable: no',
        'zone:',
        '  name: cluster.local',
        '  zonefile: cluster.local.zone',
        '',
      ].join('\n'),
    );
    nsd = spawn(
      'nsenter',
      [`--net=/run/netns/${c.podNetns('anchor')}`, '--', 'nsd', '-d', '-c', join(dir, 'nsd.conf')],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const names = services
      .filter((s) => s.metadata.namespace === 'bench')
      .map((s) => `${s.metadata.name}.bench.svc.cluster.local A`);
    writeFileSync(join(dir, 'queries.txt'), `${names.join('\n')}\n`);
    const dnsperf = (server: string, extra: string[]) =>
      c.exec('dnsclient', ['dnsperf', '-s', server, '-d', join(dir, 'queries.txt'), ...extra], {
        timeoutMs: (seconds + 30) * 1000,
      });
    // Both answer through their ClusterIPs before anything is measured.
    for (const ip of ['10.96.0.10', anchor.spec.clusterIP!]) {
      for (let i = 0; ; i++) {
        const r = await dnsperf(ip, ['-n', '1']);
        if (/Queries completed:\s+[1-9]/.test(r.stdout)) break;
        if (i > 100) throw new Error(`no answers from ${ip}: ${r.stdout}`);
        await sleep(200);
      }
    }
    const nsdPid = nsd.pid!;
    const kdpPid = pidByCmdline(`kdp:${cluster}:pod:kube-system/coredns`);
    // nsd forks its xfrd and server processes: count every descendant's CPU.
    const parentOf = (p: number) => {
      try {
        const st = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      } catch {
        return -1;
      }
    };
    const family = (root: number) => {
      const all = readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .map(Number);
      const out = new Set([root]);
      for (let grew = true; grew;) {
        grew = false;
        for (const p of all) {
          if (out.has(p) || !out.has(parentOf(p))) continue;
          out.add(p);
          grew = true;
        }
      }
      return [...out];
    };
    const rows: string[] = [];
    for (const [label, ip, pid] of [
      ['kdp/dns (1 pod)', '10.96.0.10', kdpPid],
      ['nsd 4.6 (1 server)', anchor.spec.clusterIP!, nsdPid],
    ] as const) {
      const pids = family(pid);
      const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
      const t = await dnsperf(ip, ['-l', String(seconds), '-c', '4']);
      const cpu = pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(t.stdout)?.[1]);
      const completed = Number(/Queries completed:\s+(\d+)/.exec(t.stdout)?.[1]);
      const lost = /Queries lost:\s+(\d+)/.exec(t.stdout)?.[1];
      const lat = await dnsperf(ip, ['-l', '5', '-Q', '1000', '-v']);
      const ms = [...lat.stdout.matchAll(/^> \S+ .* ([\d.]+)$/gm)]
        .map((m) => Number(m[1]) * 1000)
        .sort((a, b) => a - b);
      rows.push(
        `| ${label} | ${qps.toFixed(0)} | ${lost} | ${cpu.toFixed(2)} | ${(completed / cpu).toFixed(0)} | ${percentile(ms, 50).toFixed(3)} | ${percentile(ms, 99).toFixed(3)} |`,
      );
    }

    // ndots:5: an outside name short (three search suffixes first) and fully qualified, from a
    // pod's own resolv.conf; 100 lookups each, timed inside the pod.
    const script =
      'for n in example.com example.com.; do s=$(date +%s%N); i=0; while [ $i -lt 100 ]; do getent ahostsv4 $n >/dev/null; i=$((i+1)); done; e=$(date +%s%N); echo "$n $(( (e - s) / 100000 ))"; done';
    const pod = podObject('ndots', { node: 'node-1', image: 'busybox', command: ['sh', '-c', script] });
    pod.spec.restartPolicy = 'Never';
    const made = await c.client.resource<Pod>('pods').create(pod);
    for (;;) {
      const p = await c.client.resource<Pod>('pods').get('ndots', 'default');
      if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') break;
      await sleep(200);
    }
    const out = readFileSync(
      `/run/kdp/${cluster}/nodes/node-1/pods/${made.metadata.uid}/busybox.log`,
      'utf8',
    );
    console.log(
      '| server | queries/s | lost | server CPU s | queries per CPU-second | p50 ms @1000 qps | p99 ms @1000 qps |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(r);
    console.log('\nndots:5, 100 lookups each, microseconds per lookup:');
    console.log(out.trim());
  } finally {
    nsd?.kill('SIGTERM');
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
