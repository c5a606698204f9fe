/**
 * The HTTP endpoint a node's proxier answers on, as kube-proxy's metrics server does (default
 * 127.0.0.1:10249; the agent runs inside its node's namespace, so every node has its own):
 * - /metrics: the proxier's Prometheus text (kube-proxy's metric names);
 * - /healthz: 200 once a sync succeeded and no requested sync has waited longer than the health
 *   timeout (2 x syncPeriod, as upstream), else 503; a JSON body with the times either way;
 * - /proxyMode: the mode's name, as kube-proxy answers it.
 * Anything else is 404. Only GET and HEAD.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KdpError } from '../errors.ts';
import type { Proxier } from './proxier-contract.ts';

export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:10249';

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** /healthz fails when a requested sync has waited longer than this; default 60 s (2 x 30 s). */
  healthTimeoutMs?: number;
  now?: () => number;
  /** More Prometheus text served after the proxier's on /metrics (the agent's overlay metrics). */
  extraMetrics?: () => Promise<string>;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `host:port` (kube-proxy's --metrics-bind-address) to its parts; throws on anything else. */
export function parseBindAddress(text: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|localhost):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new KdpError(
      'KDP_ERR_USAGE',
      `"${text}" is not an address:port such as ${DEFAULT_METRICS_ADDRESS}`,
    );
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

async function gaugeValue(g: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await g.get()).values[0]?.value ?? 0;
}

/** What /healthz says, from the proxier's last-sync and last-queued gauges (seconds since the epoch). */
export async function proxyHealth(
  proxier: Proxier,
  healthTimeoutMs: number,
  nowMs: number,
): Promise<{ healthy: boolean; body: Record<string, unknown> }> {
  const lastSync = await gaugeValue(proxier.metrics.lastSyncTimestamp);
  const lastQueued = await gaugeValue(proxier.metrics.lastQueuedTimestamp);
  const iso = (s: number) => (s > 0 ? new Date(s * 1000).toISOString() : null);
  const waiting = lastQueued > lastSync ? nowMs - lastQueued * 1000 : 0;
  const healthy = lastSync > 0 && waiting <= healthTimeoutMs;
  return {
    healthy,
    body: {
      lastUpdated: iso(lastSync),
      lastQueued: iso(lastQueued),
      currentTime: new Date(nowMs).toISOString(),
      ...(lastSync > 0 ? {} : { reason: 'no sync has succeeded yet' }),
      ...(waiting > healthTimeoutMs
        ? { reason: `a requested sync has waited ${Math.round(waiting)} ms` }
        : {}),
    },
  };
}

export function serveProxyMetrics(proxier: Proxier, opts: MetricsServerOptions): Promise<MetricsServer> {
  const healthTimeoutMs = opts.healthTimeoutMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/metrics') {
      const text = (await proxier.metrics.text()) + ((await opts.extraMetrics?.()) ?? '');
      res.writeHead(200, { 'content-type': proxier.metrics.contentType }).end(text);
    } else if (path === '/healthz') {
      const h = await proxyHealth(proxier, healthTimeoutMs, now());
      res
        .writeHead(h.healthy ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify(h.body)}\n`);
    } else if (path === '/proxyMode') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(proxier.mode);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${(e as Error).message}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new KdpError(
          'KDP_ERR_PROXY_METRICS_LISTEN',
          `the proxy metrics server cannot listen on ${opts.host}:${opts.port}: ${e.message}`,
          { cause: e },
        ),
      ),
    );
    server.listen(opts.port, opts.host, () => {
      const addr = server.address() as AddressInfo;
      let closing: Promise<void> | undefined;
      resolve({
        host: addr.address,
        port: addr.port,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          })),
      });
    });
  });
}
