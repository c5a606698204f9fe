/**
 * Reachability probes between namespaces for kernel integration tests. This host has no ping
 * (iputils is not installed), so a probe is a TCP exchange with node itself: an echo server in
 * the target namespace answers with its own name, and a client in the source namespace connects
 * and reports the answer. That proves the route both ways and tells which pod answered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';
import { isKdpError } from '../../../dataplane/errors.ts';

export const PROBE_PORT = 7777;

const SERVER = `
const [port, name] = process.argv.slice(1);
require('net').createServer((s) => s.end(name + '\\n')).listen(Number(port), '0.0.0.0', () => console.log('ready'));
`;

const CLIENT = `
const [ip, port] = process.argv.slice(1);
const s = require('net').connect({ host: ip, port: Number(port), timeout: 1500 });
let got = '';
s.on('data', (d) => (got += d));
s.on('end', () => { process.stdout.write(got.trim()); process.exit(0); });
s.on('timeout', () => { console.error('timeout'); process.exit(1); });
s.on('error', (e) => { console.error(e.code); process.exit(1); });
`;

export interface EchoServer {
  ns: string;
  stop(): Promise<void>;
}

/** Starts an echo server in `ns` that answers `name`, resolved once it listens. */
export async function startEchoServer(kernel: Kernel, ns: string, name: string): Promise<EchoServer> {
  const [cmd, ...args] = kernel.netns.command(ns, [process.execPath, '-e', SERVER, String(PROBE_PORT), name]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  };
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`echo server in ${ns} exited (${code}): ${stderr}`)));
  });
  const timeout = AbortSignal.timeout(10_000);
  try {
    await Promise.race([
      ready,
      once(timeout, 'abort').then(() =>
        Promise.reject(new Error(`echo server in ${ns} not ready: ${stderr}`)),
      ),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { ns, stop };
}

/** Connects from `fromNs` to ip:PROBE_PORT; the answering server's name, or why it failed. */
export async function probe(
  kernel: Kernel,
  fromNs: string,
  ip: string,
): Promise<{ ok: boolean; answer: string }> {
  try {
    const { stdout } = await kernel.netns.exec(
      fromNs,
      [process.execPath, '-e', CLIENT, ip, String(PROBE_PORT)],
      {
        timeoutMs: 10_000,
      },
    );
    return { ok: true, answer: stdout };
  } catch (e) {
    if (isKdpError(e)) return { ok: false, answer: e.message };
    throw e;
  }
}
