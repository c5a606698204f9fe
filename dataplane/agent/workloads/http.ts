/**
 * The kdp/http workload: an HTTP server that answers every request with its pod's name (and a
 * newline), so a client, a test or a scenario sees which backend served it, as the agnhost
 * "hostname" server does in upstream's e2e tests. Keep-alive connections are closed on shutdown
 * so that a terminating pod's server exits promptly.
 */
import http from 'node:http';
import type net from 'node:net';
import type { RunningServer } from './server-types.ts';

export interface HttpOptions {
  bind: string;
  ports: number[];
  /** What every response says. */
  name: string;
}

export async function startHttp(opts: HttpOptions): Promise<RunningServer> {
  const servers: http.Server[] = [];
  const body = `${opts.name}\n`;
  try {
    for (const port of opts.ports) {
      const server = http.createServer((req, res) => {
        req.resume();
        res.writeHead(200, {
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, opts.bind, () => resolve());
      });
    }
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw e;
  }
  return {
    listening: servers.map((s) => ({
      protocol: 'TCP' as const,
      port: (s.address() as net.AddressInfo).port,
    })),
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
