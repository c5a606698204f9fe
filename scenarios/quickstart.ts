/**
 * Quickstart: two nodes, a Deployment of three kdp/http pods (each answers HTTP with its own pod
 * name) behind a Service, and a client pod that calls the Service's backends round-robin and
 * prints which pod answered each request. Everything is torn down at the end (`await using`).
 *
 *   sudo kdp run scenarios/quickstart.ts [--requests N] [--name CLUSTER]
 *
 * There is no service proxy yet (it comes with issue 4), so the Service's ClusterIP does not
 * answer: the client takes the endpoints from the Service's EndpointSlice, as kube-proxy would,
 * and calls them directly.
 */
import type { EndpointSlice, Service } from '../dataplane/api/types.ts';
import { Cluster } from '../dataplane/cluster/cluster.ts';

const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const requests = Number(flag('--requests') ?? 6);
if (!Number.isInteger(requests) || requests < 1 || requests > 1000) {
  console.error('--requests: a whole number from 1 to 1000');
  process.exit(2);
}
const name = flag('--name') ?? 'quickstart';

// The client runs inside the client pod's network namespace: node, no curl needed. It calls the
// endpoints in turn and prints one JSON line per request.
const CLIENT = `
const http = require('node:http');
const [targets, count] = [JSON.parse(process.argv[1]), Number(process.argv[2])];
const call = (t) => new Promise((resolve) => {
  const req = http.get({ host: t.ip, port: t.port, path: '/', timeout: 2000, agent: false }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ ...t, status: res.statusCode, body: body.trim() }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve({ ...t, error: e.message }));
});
(async () => {
  for (let i = 0; i < count; i++) console.log(JSON.stringify(await call(targets[i % targets.length])));
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
console.log(
  `[${seconds()}s] deployment/web: ${web.map((p) => `${p.metadata.name} (${p.spec.nodeName})`).join(', ')}`,
);

// The endpoints, as the EndpointSlice controller published them for service/web.
const endpoints = await waitForReadyEndpoints(3);
const nodeOf = new Map(web.map((p) => [p.status?.podIP, p.spec.nodeName]));
console.log(
  `[${seconds()}s] service/web ClusterIP ${service.spec.clusterIP}:80 -> endpoints ${endpoints.map((e) => `${e.ip}:${e.port}`).join(', ')}`,
);

const { stdout, stderr, code } = await cluster.exec('client', [
  process.execPath,
  '-e',
  CLIENT,
  JSON.stringify(endpoints),
  String(requests),
]);
if (code !== 0) throw new Error(`the client failed (status ${code}): ${stderr}`);
let failed = 0;
stdout
  .trim()
  .split('\n')
  .forEach((line, i) => {
    const r = JSON.parse(line) as { ip: string; port: number; body?: string; error?: string };
    if (r.error) failed++;
    const answer = r.error ? `failed: ${r.error}` : `answered by ${r.body}`;
    console.log(`request ${i + 1}: client -> ${r.ip}:${r.port} (${nodeOf.get(r.ip)}) ${answer}`);
  });
console.log(
  `\nThe client called the Service's endpoints round-robin from its EndpointSlice. The ClusterIP ` +
    `${service.spec.clusterIP}:80 answers once a service proxy runs on the nodes (issue 4).`,
);
console.log(`[${seconds()}s] done; tearing the cluster down`);
if (failed > 0) process.exitCode = 1;

async function waitForReadyEndpoints(count: number): Promise<{ ip: string; port: number }[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const slices = await api
      .resource<EndpointSlice>('discovery.k8s.io/endpointslices')
      .list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' });
    const found = slices.items.flatMap((s) =>
      s.endpoints
        .filter((e) => e.conditions?.ready)
        .map((e) => ({ ip: e.addresses[0], port: s.ports?.find((p) => p.name === 'http')?.port ?? 8080 })),
    );
    if (found.length >= count) return found.sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
    if (Date.now() > deadline)
      throw new Error(`service/web has ${found.length} ready endpoints, expected ${count}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
