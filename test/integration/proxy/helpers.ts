/**
 * Shared by the proxy integration tests (root, real clusters): backend pods running backend.ts,
 * Services, and clients that run inside a pod's or an external client's namespace with node (no
 * curl needed): HTTP with a new connection per request, UDP from one fixed source port, each
 * printing one JSON line per request. A client can stream its lines to a file (the namespaces
 * share the host's filesystem) so a test can watch it while it runs, and stops when a stop file
 * appears. Also iptables-save of a node's namespace without counters, and the proxy's metrics.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Container, Deployment, Pod, Service, ServiceSpec } from '../../../dataplane/api/types.ts';
import type { ApiClient } from '../../../dataplane/client/interface.ts';
import { type Cluster, type PodExecResult, runIn } from '../../../dataplane/cluster/cluster.ts';
import { netnsPath } from '../../../dataplane/kernel/name-checks.ts';

const BACKEND = fileURLToPath(new URL('./backend.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface BackendOptions {
  node: string;
  labels: Record<string, string>;
  http?: number[];
  udp?: number[];
  /** Keep serving this long after SIGTERM. */
  drainMs?: number;
}

/** The container command that runs backend.ts. */
export function backendCommand(o: Pick<BackendOptions, 'http' | 'udp' | 'drainMs'>): string[] {
  return [
    process.execPath,
    '--import',
    TSX,
    BACKEND,
    ...(o.http ?? [8080]).flatMap((p) => ['--http', String(p)]),
    ...(o.udp ?? []).flatMap((p) => ['--udp', String(p)]),
    '--drain-ms',
    String(o.drainMs ?? 0),
  ];
}

/** Ready once its first HTTP port listens (a host program is otherwise Ready when started). */
function readiness(o: Pick<BackendOptions, 'http'>): Pick<Container, 'readinessProbe'> {
  const port = (o.http ?? [8080])[0];
  return port === undefined ? {} : { readinessProbe: { tcpSocket: { port } } };
}

/** A Deployment of backends labelled app=<name>, draining `drainMs` after SIGTERM. */
export function createBackendDeployment(
  client: ApiClient,
  name: string,
  replicas: number,
  o: Pick<BackendOptions, 'http' | 'udp' | 'drainMs'> = {},
): Promise<Deployment> {
  return client.resource<Deployment>('apps/deployments').create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: Math.ceil((o.drainMs ?? 0) / 1000) + 5,
          containers: [
            { name: 'backend', image: 'kdp-test/backend', command: backendCommand(o), ...readiness(o) },
          ],
        },
      },
    },
  });
}

/** Creates backend pods and waits until all are Ready; returns name -> Pod. */
export async function addBackends(
  cluster: Cluster,
  specs: (BackendOptions & { name: string })[],
): Promise<Map<string, Pod>> {
  const pods = await Promise.all(
    specs.map((s) =>
      cluster.addPod(s.name, {
        node: s.node,
        labels: s.labels,
        image: 'kdp-test/backend',
        command: backendCommand(s),
        readyPort: (s.http ?? [8080])[0],
        terminationGracePeriodSeconds: Math.ceil((s.drainMs ?? 0) / 1000) + 5,
        timeoutMs: 60_000,
      }),
    ),
  );
  return new Map(pods.map((p) => [p.metadata.name!, p]));
}

export function createService(
  client: ApiClient,
  name: string,
  spec: Partial<ServiceSpec> & Pick<ServiceSpec, 'ports'>,
): Promise<Service> {
  return client.resource<Service>('services').create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { selector: { app: name }, ...spec },
  });
}

/** One request as a client saw it: `body` is "<pod> <source seen>"; `error` a node error code. */
export interface Answer {
  t: number;
  body?: string;
  error?: string;
}

export interface ClientOptions {
  ip: string;
  port: number;
  /** Stop after this many requests ... */
  count?: number;
  /** ... or once this file exists (bounded by maxMs). */
  stopFile?: string;
  maxMs?: number;
  intervalMs?: number;
  timeoutMs?: number;
  /** Retry the first request (unrecorded) until it is answered or this long has passed. */
  waitFirstMs?: number;
  /** Also append each line to this file as it happens. */
  out?: string;
  /** UDP: the source port every datagram is sent from. */
  sourcePort?: number;
}

// One script for both protocols, run with `node -e SCRIPT udp|http JSON` in the client's namespace.
const CLIENT = `
const fs = require('node:fs');
const [proto, json] = process.argv.slice(1);
const o = JSON.parse(json);
const started = Date.now();
const timeout = o.timeoutMs ?? 2000;
let udp;
const once = () => new Promise((resolve) => {
  if (proto === 'udp') {
    const timer = setTimeout(() => { udp.removeAllListeners('message'); resolve({ error: 'timeout' }); }, timeout);
    udp.once('message', (m) => { clearTimeout(timer); resolve({ body: m.toString().trim() }); });
    udp.send('ping', o.port, o.ip);
    return;
  }
  const req = require('node:http').get({ host: o.ip, port: o.port, timeout, agent: false }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ body: body.trim() }));
    res.on('error', (e) => resolve({ error: e.code ?? e.message }));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
  req.on('error', (e) => resolve({ error: e.code ?? e.message }));
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  if (proto === 'udp') {
    udp = require('node:dgram').createSocket('udp4');
    await new Promise((r) => udp.bind(o.sourcePort ?? 0, r));
  }
  if (o.waitFirstMs) while ((await once()).error && Date.now() - started < o.waitFirstMs) await sleep(50);
  for (let i = 0; ; i++) {
    if (o.count !== undefined && i >= o.count) break;
    if (o.stopFile && fs.existsSync(o.stopFile)) break;
    if (Date.now() - started > (o.maxMs ?? 60000)) break;
    const t = Date.now();
    const line = JSON.stringify({ t, ...(await once()) });
    console.log(line);
    if (o.out) fs.appendFileSync(o.out, line + '\\n');
    if (o.intervalMs) await sleep(o.intervalMs);
  }
  udp?.close();
})();
`;

export type Exec = (argv: readonly string[], opts?: { timeoutMs?: number }) => Promise<PodExecResult>;

/** An Exec running in pod `pod` of `cluster`. */
export function inPod(cluster: Cluster, pod: string): Exec {
  return (argv, opts) => cluster.exec(pod, argv, opts);
}

/** An Exec running in a named network namespace. */
export function inNamespace(netns: string): Exec {
  return (argv, opts) => runIn(netnsPath(netns), argv, opts);
}

export async function requests(exec: Exec, proto: 'http' | 'udp', o: ClientOptions): Promise<Answer[]> {
  const r = await exec([process.execPath, '-e', CLIENT, proto, JSON.stringify(o)], {
    timeoutMs: (o.maxMs ?? 60_000) + (o.waitFirstMs ?? 0) + 15_000,
  });
  assert.equal(r.code, 0, `the ${proto} client failed: ${r.stderr}`);
  return parseAnswers(r.stdout);
}

/** A client running in the background, streaming its answers into a file. */
export interface RequestStream extends AsyncDisposable {
  /** What it has seen so far. */
  soFar(): Answer[];
  /** Tells it to stop and resolves with everything it saw. Idempotent. */
  stop(): Promise<Answer[]>;
}

/** Starts a client that runs until stopped (at most `maxMs`), streaming into `<dir>/<name>.jsonl`. */
export function streamRequests(
  exec: Exec,
  proto: 'http' | 'udp',
  o: Omit<ClientOptions, 'out' | 'stopFile' | 'count'> & { dir: string; name: string },
): RequestStream {
  const out = join(o.dir, `${o.name}.jsonl`);
  const stopFile = join(o.dir, `${o.name}.stop`);
  const { dir: _dir, name: _name, ...rest } = o;
  const running = requests(exec, proto, { ...rest, out, stopFile });
  running.catch(() => {}); // awaited by stop(); a test that failed first must not see it unhandled
  let stopped: Promise<Answer[]> | undefined;
  const stop = () => {
    stopped ??= (writeFileSync(stopFile, ''), running);
    return stopped;
  };
  return {
    soFar: () => answersSoFar(out),
    stop,
    async [Symbol.asyncDispose]() {
      await stop().catch(() => {});
    },
  };
}

export function parseAnswers(text: string): Answer[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Answer);
}

/** What a client streamed into `out` so far. */
export function answersSoFar(out: string): Answer[] {
  return existsSync(out) ? parseAnswers(readFileSync(out, 'utf8')) : [];
}

/** Pod names that answered, with how often. */
export function backendsOf(answers: readonly Answer[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of answers) if (a.body) m.set(a.body.split(' ')[0], (m.get(a.body.split(' ')[0]) ?? 0) + 1);
  return m;
}

export function errorsOf(answers: readonly Answer[]): string[] {
  return answers.filter((a) => a.error).map((a) => a.error!);
}

/** iptables-save of a node's namespace (nft tools by default), without counters or comments. */
export async function nodeRules(netns: string, backend: 'nft' | 'legacy' = 'nft'): Promise<string> {
  const r = await runIn(netnsPath(netns), [`iptables-${backend}-save`], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}

const GET_METRICS = `
require('node:http').get('http://127.0.0.1:10249/metrics', (res) => {
  let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => process.stdout.write(b));
}).on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/** The proxy's /metrics inside a node's namespace, as kdp metrics fetches it. */
export async function nodeMetrics(netns: string): Promise<string> {
  const r = await runIn(netnsPath(netns), [process.execPath, '-e', GET_METRICS]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** A sample's value from Prometheus text (first match of the name with `labels`, e.g. '{table="nat"}'). */
export function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** The proxy of `netns` has synced everything it was told (its pending-change gauges are 0). */
export async function proxySynced(netns: string): Promise<boolean> {
  const m = await nodeMetrics(netns);
  const pending =
    (metric(m, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending') ?? 1) +
    (metric(m, 'kubeproxy_sync_proxy_rules_service_changes_pending') ?? 1);
  const synced = metric(m, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds') ?? 0;
  const queued = metric(m, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds') ?? Infinity;
  return pending === 0 && synced >= queued;
}
