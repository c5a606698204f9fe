/**
 * The bring-up benchmark (root): `node --import tsx bench/bringup/run.ts [--quick] [--repeat N] [--out FILE]`.
 *
 * For each size (2 nodes x 5 pods, 10 nodes x 100 pods of kdp/http, and 10 x 100 kdp/pause pods
 * to separate the network from the per-pod server processes) it runs Cluster.create and measures:
 * ready (every Node and Pod Ready in the apiserver), reachable (from one pod, every other pod
 * answers over TCP: its HTTP body is its name, or for kdp/pause the kernel refuses the port, which
 * proves the route), the time spent before the agents start (apiserver, Nodes, IPAM, fabric and
 * node namespaces), per-pod cost (time per pod, the marginal time per pod between the sizes, and
 * the memory of the pod processes (PSS)) and teardown, and how often the kernel's neighbour table
 * was full during the run (table_fulls of /proc/net/stat/arp_cache: one table for every namespace
 * of the host, so other activity on the host counts too). Writes JSON under bench/results/ and
 * prints Markdown. --quick runs only 2 x 5 once.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster } from '../../dataplane/cluster/cluster.ts';
import { processTitle } from '../../dataplane/cluster/cleanup-processes.ts';

interface Size {
  label: string;
  nodes: number;
  podsPerNode: number;
  image: 'kdp/http' | 'kdp/pause';
  repeat: number;
}

interface Run {
  readyMs: number;
  reachableMs: number;
  beforeAgentsMs: number;
  teardownMs: number;
  podProcessPssMb: number;
  /** Times the neighbour table was full between create and close. */
  arpTableFulls: number;
}

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, repeat: { type: 'string' }, out: { type: 'string' } },
});
const repeat = values.repeat ? Number(values.repeat) : undefined;
const SIZES: Size[] = values.quick
  ? [{ label: '2 x 5', nodes: 2, podsPerNode: 5, image: 'kdp/http', repeat: 1 }]
  : [
      { label: '2 x 5', nodes: 2, podsPerNode: 5, image: 'kdp/http', repeat: repeat ?? 5 },
      { label: '10 x 100', nodes: 10, podsPerNode: 100, image: 'kdp/http', repeat: repeat ?? 1 },
      { label: '10 x 100 (kdp/pause)', nodes: 10, podsPerNode: 100, image: 'kdp/pause', repeat: repeat ?? 1 },
    ];

// Runs in the first pod: connects to every target (bounded concurrency), tries the ones that did
// not answer twice more (a server process of a just-started pod may still be paging in), and
// prints how many answered.
const PROBE = `
const net = require('node:net');
const [targets, http] = [JSON.parse(process.argv[1]), process.argv[2] === 'http'];
const one = (t) => new Promise((done) => {
  const s = net.connect({ host: t.ip, port: 8080, timeout: 10000 });
  let body = '';
  s.on('connect', () => { if (http) s.write('GET / HTTP/1.0\\r\\n\\r\\n'); else { s.destroy(); done(t.name + ': open'); } });
  s.on('data', (d) => (body += d));
  s.on('end', () => done(body.trim().endsWith(t.name) ? undefined : t.name + ': ' + body.slice(-40)));
  s.on('timeout', () => { s.destroy(); done(t.name + ': timeout'); });
  s.on('error', (e) => done(!http && e.code === 'ECONNREFUSED' ? undefined : t.name + ': ' + e.code));
});
(async () => {
  let todo = targets, bad = [];
  for (let round = 0; round < 3 && todo.length; round++) {
    const queue = [...todo], failed = [];
    bad = [];
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (queue.length) { const t = queue.shift(); const why = await one(t); if (why) { failed.push(t); bad.push(why); } }
    }));
    todo = failed;
  }
  console.log(JSON.stringify({ ok: targets.length - todo.length, bad: bad.slice(0, 5) }));
})();
`;

/** Proportional set size of the pod server processes: shared pages counted once across them. */
function podProcessPssMb(cluster: string): number {
  let kb = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || !processTitle(Number(name))?.startsWith(`kdp:${cluster}:pod:`)) continue;
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024;
}

/** table_fulls summed over the per-CPU lines of /proc/net/stat/arp_cache (hex columns). */
function arpTableFulls(): number {
  const [header, ...lines] = readFileSync('/proc/net/stat/arp_cache', 'utf8').trim().split('\n');
  const col = header.trim().split(/\s+/).indexOf('table_fulls');
  return lines.reduce((sum, l) => sum + parseInt(l.trim().split(/\s+/)[col], 16), 0);
}

async function once(size: Size, i: number): Promise<Run> {
  const cluster = `bench${process.pid % 10000}-${i}`;
  let beforeAgentsMs = 0;
  const fullsBefore = arpTableFulls();
  const t0 = performance.now();
  const c = await Cluster.create(
    { cluster, nodes: size.nodes, podsPerNode: size.podsPerNode },
    { podImage: size.image, onProgress: (p) => p.phase === 'agents' && (beforeAgentsMs = p.elapsedMs) },
  );
  try {
    const readyMs = performance.now() - t0;
    const pods = await c.pods();
    const targets = pods.map((p) => ({ name: p.metadata.name, ip: p.status!.podIP }));
    const r = await c.exec(
      pods[0],
      [process.execPath, '-e', PROBE, JSON.stringify(targets), size.image === 'kdp/http' ? 'http' : 'tcp'],
      { timeoutMs: 120_000 },
    );
    const probe = JSON.parse(r.stdout || '{}') as { ok?: number; bad?: string[] };
    if (r.code !== 0 || probe.ok !== targets.length) {
      throw new Error(
        `only ${probe.ok} of ${targets.length} pods reachable: ${probe.bad?.join('; ') ?? r.stderr}`,
      );
    }
    const reachableMs = performance.now() - t0;
    const pss = podProcessPssMb(cluster);
    const arpFulls = arpTableFulls() - fullsBefore;
    const t1 = performance.now();
    await c.close();
    return {
      readyMs,
      reachableMs,
      beforeAgentsMs,
      teardownMs: performance.now() - t1,
      podProcessPssMb: pss,
      arpTableFulls: arpFulls,
    };
  } finally {
    await c.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const cpuModel = cpus()[0]?.model ?? 'unknown';
const machine = {
  nproc: cpus().length,
  cpu: cpuModel,
  kernel: release(),
  node: process.version,
  memoryGb: Math.round(
    Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 2 ** 20,
  ),
};
const loadStart = loadavg()[0];
const results: { size: Size; runs: Run[]; median: Run; pods: number }[] = [];
for (const size of SIZES) {
  const runs: Run[] = [];
  for (let i = 0; i < size.repeat; i++) {
    process.stderr.write(`${size.label}: run ${i + 1}/${size.repeat}\n`);
    runs.push(await once(size, i));
  }
  const med = Object.fromEntries(
    (Object.keys(runs[0]) as (keyof Run)[]).map((k) => [k, median(runs.map((r) => r[k]))]),
  ) as unknown as Run;
  results.push({ size, runs, median: med, pods: size.nodes * size.podsPerNode });
}

const small = results.find((r) => r.size.label === '2 x 5');
const big = results.find((r) => r.size.label === '10 x 100');
const marginalMsPerPod =
  small && big ? (big.median.readyMs - small.median.readyMs) / (big.pods - small.pods) : undefined;
const date = new Date().toISOString();
const out =
  values.out ?? join(import.meta.dirname, '..', 'results', `bringup-${date.replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { date, machine, loadavg: { start: loadStart, end: loadavg()[0] }, results, marginalMsPerPod },
    null,
    2,
  ) + '\n',
);

const lines = [
  `Machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGb} GB, kernel ${machine.kernel}, node ${machine.node}; ${date.slice(0, 10)}; load ${loadStart.toFixed(2)} at start.`,
  '',
  '| cluster | pods | runs | ready (median) | reachable | before agents | per pod | pod processes (PSS) | teardown | ARP table full |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...results.map(
    (r) =>
      `| ${r.size.label} | ${r.pods} | ${r.runs.length} | ${s(r.median.readyMs)} | ${s(r.median.reachableMs)} | ${s(r.median.beforeAgentsMs)} | ${(r.median.readyMs / r.pods).toFixed(1)} ms | ${r.median.podProcessPssMb ? `${(r.median.podProcessPssMb / r.pods).toFixed(1)} MB/pod` : '-'} | ${s(r.median.teardownMs)} | ${Math.max(...r.runs.map((x) => x.arpTableFulls))} |`,
  ),
];
if (marginalMsPerPod !== undefined)
  lines.push('', `Marginal cost per kdp/http pod (10 x 100 vs 2 x 5): ${marginalMsPerPod.toFixed(1)} ms.`);
lines.push('', `JSON: ${relative(process.cwd(), out)}`);
console.log(lines.join('\n'));
process.exit(0);
