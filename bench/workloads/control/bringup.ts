/**
 * The `bringup` control workload (root): a trial is one Cluster.create of N nodes x M pods, then a
 * reachability probe from the first pod to every other, then close. Values: ready_s (every Node
 * and Pod Ready in the apiserver: agents started, pods realised), reachable_s (from create until
 * every pod answered over TCP: a kdp/http pod's body is its name, a kdp/pause pod's kernel refuses
 * the port, which proves the route), teardown_s (close: agents, pod processes, namespaces, state),
 * and before_agents_s (apiserver, controllers, Nodes, IPAM, fabric and node namespaces). Variants:
 * 2 x 5 kdp/http (quick) and 10 x 100 kdp/pause (the network without 1000 server processes).
 * docs/PERFORMANCE.md also reports pod process memory and the neighbour table's overflows from
 * this benchmark's earlier form; they are not trial values, as nothing compares them.
 */
import { Cluster } from '../../../dataplane/cluster/cluster.ts';
import { KdpError } from '../../../dataplane/errors.ts';
import type { ControlWorkload, TrialValue, WorkloadInstance } from '../../lib/workload.ts';

type Image = 'kdp/http' | 'kdp/pause';

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

const seconds = (name: string, ms: number): TrialValue => ({
  name,
  unit: 's',
  better: 'lower',
  value: ms / 1000,
});

let clusters = 0;

async function bringUpOnce(nodes: number, podsPerNode: number, image: Image): Promise<TrialValue[]> {
  // Unique per trial and process: parallel runs and a crashed earlier trial do not collide.
  const cluster = `kdpb${process.pid % 100000}c${++clusters}`;
  let beforeAgentsMs = NaN;
  const t0 = performance.now();
  const c = await Cluster.create(
    { cluster, nodes, podsPerNode },
    { podImage: image, onProgress: (p) => void (p.phase === 'agents' && (beforeAgentsMs = p.elapsedMs)) },
  );
  try {
    const readyMs = performance.now() - t0;
    // The topology's pods (the cluster DNS pods in kube-system serve no HTTP).
    const pods = await c.pods({ namespace: 'default' });
    const targets = pods.map((p) => ({ name: p.metadata.name, ip: p.status!.podIP }));
    const r = await c.exec(
      pods[0]!,
      [process.execPath, '-e', PROBE, JSON.stringify(targets), image === 'kdp/http' ? 'http' : 'tcp'],
      { timeoutMs: 120_000 },
    );
    const probe = JSON.parse(r.stdout || '{}') as { ok?: number; bad?: string[] };
    if (r.code !== 0 || probe.ok !== targets.length) {
      throw new KdpError(
        'KDP_ERR_BENCH_UNREACHABLE',
        `bringup: only ${probe.ok} of ${targets.length} pods reachable: ${probe.bad?.join('; ') ?? r.stderr}`,
      );
    }
    const reachableMs = performance.now() - t0;
    const t1 = performance.now();
    await c.close();
    return [
      seconds('ready_s', readyMs),
      seconds('reachable_s', reachableMs),
      seconds('teardown_s', performance.now() - t1),
      seconds('before_agents_s', beforeAgentsMs),
    ];
  } finally {
    await c.close();
  }
}

export const bringupWorkload: ControlWorkload = {
  name: 'bringup',
  description: 'Cluster.create to every pod Ready and reachable, and teardown',
  modeDependent: false,
  needsRoot: true,
  variants: (quick) => [
    { nodes: 2, podsPerNode: 5, image: 'kdp/http' },
    ...(quick ? [] : [{ nodes: 10, podsPerNode: 100, image: 'kdp/pause' }]),
  ],
  async setup(axes): Promise<WorkloadInstance> {
    const nodes = Number(axes.params?.nodes);
    const podsPerNode = Number(axes.params?.podsPerNode);
    const image = axes.params?.image as Image;
    if (!(nodes > 0 && podsPerNode > 0) || !['kdp/http', 'kdp/pause'].includes(image))
      throw new KdpError('KDP_ERR_BENCH_VARIANT', `bringup: bad variant ${JSON.stringify(axes.params)}`);
    return {
      trial: () => bringUpOnce(nodes, podsPerNode, image),
      async close() {},
    };
  },
};
