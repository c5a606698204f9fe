/**
 * Starts and stops the benchmark's apiserver: ApiServer.start in a worker thread (see
 * server-worker.ts), on 127.0.0.1 with a free port, no unix socket, and its state (kubeconfig,
 * PKI, and the SQLite file when durable) in a temp dir removed at close. By default it serves TLS
 * and authenticates as the product does; `plain` runs the explicit insecure mode (plain HTTP, no
 * authentication), the baseline that measures what TLS and authentication cost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ApiServerOptions } from '../../dataplane/api/apiserver.ts';
import { KdpError } from '../../dataplane/errors.ts';
import type { BenchTls, ServerMessage } from './server-worker.ts';

/**
 * A worker does not inherit tsx's loader from `npx tsx` or `node --import tsx`, so it registers
 * tsx itself (as bin/kdp does) before importing the TypeScript entry.
 */
const TSX_API = JSON.stringify(import.meta.resolve('tsx/esm/api'));
const WORKER_ENTRY = JSON.stringify(import.meta.resolve('./server-worker.ts'));
const WORKER_BOOTSTRAP = `import(${TSX_API}).then(({ register }) => (register(), import(${WORKER_ENTRY})));`;

export interface BenchServer {
  url: string;
  /** The CA and the admin's client certificate, when the server authenticates. */
  tls?: BenchTls;
  /** The data dir when durable, for reporting the file's size. */
  dataDir?: string;
  /** CPU time the server's thread has used so far, ms (see threadCpuMs). */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

export async function startBenchServer(opts: { durable: boolean; plain?: boolean }): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-api-'));
  const dataDir = opts.durable ? join(dir, 'data') : undefined;
  const options: ApiServerOptions = { host: '127.0.0.1', port: 0, socketPath: false, stateDir: dir, dataDir };
  options.insecureAllowUnauthenticated = opts.plain;
  // Long enough that no watch ends during a run; bookmarks off so watch streams carry only events.
  options.watchTimeoutSeconds = 3600;
  const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: options });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  try {
    const msg = await new Promise<ServerMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      void exited.then(() => reject(new Error('the apiserver worker exited before it started')));
    });
    if (!('url' in msg))
      throw new Error('error' in msg ? msg.error : `unexpected message ${JSON.stringify(msg)}`);
    return {
      url: msg.url,
      tls: msg.tls,
      dataDir,
      cpuMs: () =>
        new Promise<number>((resolve) => {
          worker.once('message', (m: ServerMessage) => resolve('cpuMs' in m ? m.cpuMs : NaN));
          worker.postMessage('cpu');
        }),
      close: async () => {
        worker.postMessage('close');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await worker.terminate();
    rmSync(dir, { recursive: true, force: true });
    throw new KdpError(
      'KDP_ERR_BENCH_SERVER',
      `could not start the apiserver for the benchmark: ${String(e)}`,
      {
        cause: e,
      },
    );
  }
}
