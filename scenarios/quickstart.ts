/**
 * Quickstart: two nodes, a Deployment of three kdp/http pods (each answers HTTP with its own pod
 * name) behind a Service, and a client pod that calls the Service's ClusterIP and prints which pod
 * answered each request. Each node's agent runs the iptables proxy (kube-proxy's rules, nft
 * backend) in the node's namespace, so every new connection to the ClusterIP is DNATed to one of
 * the three pods at random, on either node. Everything is torn down at the end (`await using`).
 *
 *   sudo kdp run scenarios/quickstart.ts [--requests N] [--name CLUSTER]
 */
import type { EndpointSlice, Service } from '../dataplane/api/types.ts';
import { Cluster } from '../dataplane/cluster/cluster.ts';

const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const requests = Number(flag('--requests') ?? 10);
if (!Number.isInteger(requests) || requests < 1 || requests > 1000) {
  console.error('--requests: a whole number from 1 to 1000');
  process.exit(2);
}
const name = flag('--name') ?? 'quickstart';

// The client runs inside the client pod's network namespace: node, no curl needed. The node's
// proxy programs a change within its min sync period (1 s), and pods become ready one by one, so
// the client first waits (bounded) until every ready pod has answered through the ClusterIP once:
// then node-1's rules hold all of them. It then makes one new connection per request and prints
// one JSON line for each.
const CLIENT = `
const http = require('node:http');
const [ip, port, count, pods] = process.argv.slice(1).map((a, i) => (i ? Number(a) : a));
const call = (timeout) => new Promise((resolve) => {
  const req = http.get({ host: ip, port, path: '/', timeout, agent: false }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ status: res.statusCode, body: body.trim() }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve({ error: e.message }));
});
(async () => {
  const started = Date.now();
  const seen = new Set();
  while (seen.size < pods && Date.now() - started < 10000) {
    const r = await call(300);
    if (r.error) await new Promise((done) => setTimeout(done, 50));
    else seen.add(r.body);
  }
  console.log(JSON.stringify({ waitedMs: Date.now() - started, reached: seen.size }));
  for (let i = 0; i < count; i++) console.log(JSON.stringify(await call(2000)));
})();
`;

const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

await using cluster = await Cluster.create(
  { cluster: name, nodes: 2, podsPerNode: 0 },
  { onProgress: (p) => console.error(`[${(p.elapsedMs / 1000).toFixed(1)}s] ${p.message}`) },
);
const api = cluster.client;

await api.resource('apps/deployments').create({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [{ name: 'http', image: 'kdp/http', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
    },
  },
});
const service = await api.resource<Service>('services').create({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
});
const client = cluster.addPod('client', { image: 'kdp/pause', node: 'node-1' });
const web = await cluster.waitForPods('app=web', 3);
await client;
const nodeOf = new Map(web.map((p) => [p.metadata.name!, p.spec.nodeName]));
console.log(
  `[${seconds()}s] deployment/web: ${web.map((p) => `${p.metadata.name} (${p.spec.nodeName}, ${p.status?.podIP})`).join(', ')}`,
);
const endpoints = await waitForReadyEndpoints(3);
const clusterIP = service.spec.clusterIP!;
console.log(`[${seconds()}s] service/web: ClusterIP ${clusterIP}:80 -> ${endpoints.join(', ')}`);

const { stdout, stderr, code } = await cluster.exec('client', [
  process.execPath,
  '-e',
  CLIENT,
  clusterIP,
  '80',
  String(requests),
  String(endpoints.length),
]);
if (code !== 0) throw new Error(`the client failed (status ${code}): ${stderr}`);
const [wait, ...lines] = stdout.trim().split('\n');
const ready = JSON.parse(wait) as { waitedMs: number; reached: number };
console.log(
  `[${seconds()}s] the ClusterIP reached ${ready.reached} of ${endpoints.length} pods within ${ready.waitedMs} ms (node-1's proxy programmed them)`,
);
let failed = 0;
const count = new Map<string, number>();
lines.forEach((line, i) => {
  const r = JSON.parse(line) as { body?: string; error?: string };
  if (r.error) failed++;
  else count.set(r.body!, (count.get(r.body!) ?? 0) + 1);
  const answer = r.error ? `failed: ${r.error}` : `answered by ${r.body} (${nodeOf.get(r.body!) ?? '?'})`;
  console.log(`request ${i + 1}: client (node-1) -> ${clusterIP}:80 ${answer}`);
});
console.log(
  `\n${count.size} of 3 pods answered (${[...count].map(([pod, n]) => `${pod} x${n}`).join(', ')}): ` +
    `each new connection to the ClusterIP was sent to one of them at random by kube-proxy's ` +
    `iptables rules in the namespace of node-1, where the client runs.`,
);
console.log(`[${seconds()}s] done; tearing the cluster down`);
if (failed > 0) process.exitCode = 1;

async function waitForReadyEndpoints(want: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const slices = await api
      .resource<EndpointSlice>('discovery.k8s.io/endpointslices')
      .list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' });
    const found = slices.items.flatMap((s) =>
      s.endpoints
        .filter((e) => e.conditions?.ready)
        .map((e) => `${e.addresses[0]}:${s.ports?.find((p) => p.name === 'http')?.port ?? 8080}`),
    );
    if (found.length >= want) return found.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (Date.now() > deadline)
      throw new Error(`service/web has ${found.length} ready endpoints, expected ${want}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
