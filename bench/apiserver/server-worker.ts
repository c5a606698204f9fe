/**
 * Runs the real ApiServer in a worker thread for the benchmark, so the server has an event loop
 * (and a core) of its own and the load generator in the main thread does not steal its time, as
 * with a separate apiserver process, while staying ApiServer.start as the product runs it.
 * Protocol: workerData carries the options; the worker posts { url, tls } once listening (or
 * { error }), answers 'cpu' with { cpuMs } (this thread's CPU time so far), and closes the
 * server and exits when the main thread posts 'close'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ApiServer, type ApiServerOptions } from '../../dataplane/api/apiserver.ts';
import { threadCpuMs } from './stats.ts';

/** The admin's TLS material (absent for the unauthenticated server). */
export interface BenchTls {
  ca: string;
  cert: string;
  key: string;
}

export type ServerMessage = { url: string; tls?: BenchTls } | { error: string } | { cpuMs: number };

const port = parentPort!;
try {
  const server = await ApiServer.start(workerData as ApiServerOptions);
  port.on('message', (m: unknown) => {
    if (m === 'cpu') port.postMessage({ cpuMs: threadCpuMs() } satisfies ServerMessage);
    if (m === 'close') void server.close().finally(() => port.close());
  });
  const creds = server.credentials;
  const tls = creds && { ca: creds.ca, cert: creds.admin.cert, key: creds.admin.key };
  port.postMessage({ url: server.url!, tls } satisfies ServerMessage);
} catch (e) {
  port.postMessage({
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  } satisfies ServerMessage);
  port.close();
}
