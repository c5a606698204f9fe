/**
 * The apiserver benchmark's HTTP workloads, each against a running server: Service creates from
 * concurrent keep-alive lanes, list latency (full, label-selected, first page), and watch event
 * delivery to many concurrent watchers.
 */
import { performance } from 'node:perf_hooks';
import { KdpError } from '../../dataplane/errors.ts';
import type { BenchClient } from './http-client.ts';
import { type LatencySummary, summarize } from './stats.ts';

/** Services get one of APPS `app` labels, so `app=app-7` selects 1 in APPS. */
export const APPS = 100;
const SENT_ANNOTATION = 'bench.kdp.dev/sent-ms';

function serviceBody(name: string, i: number, annotations?: Record<string, string>): string {
  const app = `app-${i % APPS}`;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: { app, tier: i % 3 ? 'web' : 'db' }, annotations },
    spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  });
}

export interface CreateResult {
  count: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
  latency: LatencySummary;
}

/** Creates `count` Services named `${prefix}-i` from `concurrency` lanes; bodies are built first. */
export async function createServices(
  client: BenchClient,
  opts: { namespace: string; prefix: string; count: number; concurrency: number },
): Promise<CreateResult> {
  const bodies = Array.from({ length: opts.count }, (_, i) =>
    Buffer.from(serviceBody(`${opts.prefix}-${i}`, i)),
  );
  const path = `/api/v1/namespaces/${opts.namespace}/services`;
  const latencies: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const t0 = performance.now();
      const r = await client.send('POST', path, body);
      latencies.push(performance.now() - t0);
      if (r.status !== 201) {
        throw new KdpError(
          'KDP_ERR_BENCH_REQUEST',
          `create: HTTP ${r.status}: ${r.body.toString().slice(0, 300)}`,
        );
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  const seconds = (performance.now() - start) / 1000;
  return {
    count: opts.count,
    concurrency: opts.concurrency,
    seconds,
    perSecond: opts.count / seconds,
    latency: summarize(latencies),
  };
}

export interface ListResult {
  query: string;
  items: number;
  bytes: number;
  latency: LatencySummary;
}

/** Time from sending a list to its whole body received, `repeat` times one after another. */
export async function listLatency(client: BenchClient, path: string, repeat: number): Promise<ListResult> {
  const latencies: number[] = [];
  let bytes = 0;
  let items = 0;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const r = await client.send('GET', path);
    latencies.push(performance.now() - t0);
    if (r.status !== 200) throw new KdpError('KDP_ERR_BENCH_REQUEST', `GET ${path}: HTTP ${r.status}`);
    if (i === 0) {
      bytes = r.body.length;
      items = (JSON.parse(r.body.toString()) as { items: unknown[] }).items.length;
    }
  }
  return { query: path, items, bytes, latency: summarize(latencies) };
}

export interface WatchResult {
  watchers: number;
  events: number;
  /** Events delivered in all: watchers x events. */
  delivered: number;
  latency: LatencySummary;
}

const NEWLINE = 0x0a;
const ADDED_PREFIX = Buffer.from('{"type":"ADDED"');
const SENT_KEY = Buffer.from(`"${SENT_ANNOTATION}":"`);

/**
 * The send time stamped into the ADDED event on bytes [start, end) of `buf`, found by a byte
 * search rather than a JSON parse, so a watcher's handler allocates next to nothing; NaN if the
 * line is not such an event.
 */
function sentStamp(buf: Buffer, start: number, end: number): number {
  if (buf.compare(ADDED_PREFIX, 0, ADDED_PREFIX.length, start, start + ADDED_PREFIX.length) !== 0) return NaN;
  const key = buf.indexOf(SENT_KEY, start);
  if (key < 0 || key >= end) return NaN;
  const from = key + SENT_KEY.length;
  return Number(buf.toString('latin1', from, buf.indexOf('"', from)));
}

/**
 * `watchers` watches on one namespace, then `events` creates there, each stamped with its send
 * time (performance.now(), same thread as the watchers) in an annotation. The next create goes
 * out once every watcher has the previous event, so each figure is one event's delivery, not a
 * queue behind earlier ones. The first `warmupEvents` are not counted: without them the first few
 * dozen events, delivered while the fan-out and the handlers are still being compiled, make
 * most of the p99. A watcher's handler notes the arrival time first and works on the
 * received bytes, keeping only the latency: the client's garbage collector (strings per event,
 * 100,000 retained lines) would otherwise be a good part of the measured tail.
 */
export async function watchDelivery(
  client: BenchClient,
  opts: { namespace: string; watchers: number; events: number; warmupEvents: number; timeoutMs: number },
): Promise<WatchResult> {
  const total = opts.warmupEvents + opts.events;
  const base = `/api/v1/namespaces/${opts.namespace}/services`;
  const list = (await client.json('GET', base, 200)) as { metadata: { resourceVersion: string } };
  const from = list.metadata.resourceVersion;
  const latencies = new Float64Array(opts.watchers * opts.events).fill(NaN);
  /** receivedBy[k]: how many watchers have event k (each stream delivers in order). */
  const receivedBy = new Array<number>(total).fill(0);
  const sockets: { destroy(): void }[] = [];
  let unexpected: string | undefined;
  let waitingFor = -1;
  let wake: () => void = () => {};
  const watch = (w: number) =>
    new Promise<void>((resolve, reject) => {
      let received = 0;
      const path = `${base}?watch=true&resourceVersion=${from}`;
      const req = client.stream(path, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
        let pending: Buffer | undefined;
        res.on('data', (chunk: Buffer) => {
          const at = performance.now();
          const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
          let start = 0;
          let nl: number;
          while ((nl = buf.indexOf(NEWLINE, start)) >= 0) {
            const k = received++;
            const sent = sentStamp(buf, start, nl);
            if (Number.isNaN(sent) || k >= total)
              unexpected ??= buf.toString('utf8', start, Math.min(nl, start + 200));
            else if (k >= opts.warmupEvents) latencies[w * opts.events + k - opts.warmupEvents] = at - sent;
            if (k < total && ++receivedBy[k] === opts.watchers && k === waitingFor) wake();
            start = nl + 1;
          }
          pending = start < buf.length ? buf.subarray(start) : undefined;
        });
        resolve();
      });
      req.on('error', reject);
      req.on('socket', (s) => sockets.push(s));
    });
  await Promise.all(Array.from({ length: opts.watchers }, (_, w) => watch(w)));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const got = receivedBy.reduce((n, c) => n + c, 0);
      const want = opts.watchers * total;
      reject(new KdpError('KDP_ERR_BENCH_WATCH', `watchers got ${got} of ${want} events in time`));
    }, opts.timeoutMs);
  });
  timedOut.catch(() => {}); // raced below; a timeout between two races must not be "unhandled"
  try {
    for (let i = 0; i < total; i++) {
      // Armed before the create goes out: the event may arrive before the create's answer.
      const delivered = new Promise<void>((resolve) => ((waitingFor = i), (wake = resolve)));
      const body = serviceBody(`w-${i}`, i, { [SENT_ANNOTATION]: String(performance.now()) });
      const r = await client.send('POST', base, body);
      if (r.status !== 201) throw new KdpError('KDP_ERR_BENCH_REQUEST', `create: HTTP ${r.status}`);
      if (receivedBy[i] < opts.watchers) await Promise.race([delivered, timedOut]);
    }
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
  }
  if (unexpected !== undefined)
    throw new KdpError('KDP_ERR_BENCH_WATCH', `unexpected watch event: ${unexpected}`);
  return {
    watchers: opts.watchers,
    events: opts.events,
    delivered: latencies.length,
    latency: summarize(Array.from(latencies)),
  };
}

/** Creates a Namespace through the API (the create workloads write into fresh ones). */
export async function createNamespace(client: BenchClient, name: string): Promise<void> {
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await client.json('POST', '/api/v1/namespaces', 201, body);
}
