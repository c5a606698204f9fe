/**
 * Two node-like namespaces for the native engine's integration tests, kdp-h1test-a and -b, joined
 * by a veth (underlay 198.18.0.1 and .2/24, MTU 1500), each with a cni0 bridge (no ports) holding its pod
 * subnet's gateway (10.244.1.1/24, 10.244.2.1/24) and an engine child process (engine-child.ts)
 * owning flannel0 (10.244.X.0/16, MTU 1472). Namespace a also holds 198.18.0.99, a non-node
 * address to spoof from. Everything is created inside the namespaces (ip -n), never in the root.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { EngineCounters, NativeEngineMode } from '../../../dataplane/overlay/backends/udp/engine.ts';
import type { NativeEngineStatus } from '../../../dataplane/overlay/backends/udp/native-binding.ts';

const run = promisify(execFile);
export const NS_A = 'kdp-h1test-a';
export const NS_B = 'kdp-h1test-b';
export const PORT = 8285;
export const TUN_MTU = 1472;
const CHILD = fileURLToPath(new URL('./engine-child.ts', import.meta.url));

export interface EngineSide {
  mode: NativeEngineMode;
  offload?: boolean;
}

export interface CloseReport {
  /** TUN, socket, eventfd and epoll fds opened since the engine was created and still open. */
  fdsLeft: string[];
  /** The engine's threads (kdp-*) still running, as "tid name". */
  threadsLeft: string[];
  tunGone: boolean;
  counters: EngineCounters;
}

/** One engine child: JSON-line requests and replies over its stdio. */
export class EngineChild {
  private readonly lines: AsyncIterator<string>;
  private readonly rl: Interface;
  stderr = '';

  constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    this.rl = createInterface({ input: proc.stdout });
    this.lines = this.rl[Symbol.asyncIterator]();
    proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  async next<T>(): Promise<T> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`engine child exited (code ${this.proc.exitCode}): ${this.stderr}`);
    return JSON.parse(value as string) as T;
  }

  async request<T>(cmd: Record<string, unknown>): Promise<T> {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    return this.next<T>();
  }

  async counters(): Promise<EngineCounters> {
    return (await this.request<{ counters: EngineCounters }>({ cmd: 'counters' })).counters;
  }

  /** CPU microseconds the engine process used so far (all threads). */
  async cpuMicros(): Promise<number> {
    const { cpu } = await this.request<{ cpu: { user: number; system: number } }>({ cmd: 'cpu' });
    return cpu.user + cpu.system;
  }

  async close(): Promise<CloseReport> {
    return this.request<CloseReport>({ cmd: 'close' });
  }

  async exit(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin.end(`${JSON.stringify({ cmd: 'exit' })}\n`);
    await exited;
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

export async function inNs(
  ns: string,
  argv: string[],
  timeoutMs = 30_000,
): Promise<{ stdout: string; stderr: string }> {
  return run('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs, maxBuffer: 16 << 20 });
}

/** Like inNs, but a failing command is a result, not an exception. */
export async function tryInNs(ns: string, argv: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await inNs(ns, argv);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    };
  }
}

async function ipn(ns: string, ...args: string[]): Promise<void> {
  await run('ip', ['-n', ns, ...args]);
}

export async function removeNamespaces(): Promise<void> {
  for (const ns of [NS_A, NS_B]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

export async function createNamespaces(): Promise<void> {
  await removeNamespaces(); // leftovers of a killed run
  await run('ip', ['netns', 'add', NS_A]);
  await run('ip', ['netns', 'add', NS_B]);
  await ipn(NS_A, 'link', 'add', 'h1a', 'type', 'veth', 'peer', 'name', 'h1b', 'netns', NS_B);
  for (const [ns, dev, n] of [
    [NS_A, 'h1a', 1],
    [NS_B, 'h1b', 2],
  ] as const) {
    await ipn(ns, 'link', 'set', 'lo', 'up');
    await ipn(ns, 'addr', 'add', `198.18.0.${n}/24`, 'dev', dev);
    await ipn(ns, 'link', 'set', dev, 'up');
    await ipn(ns, 'link', 'add', 'cni0', 'type', 'bridge');
    await ipn(ns, 'addr', 'add', `10.244.${n}.1/24`, 'dev', 'cni0');
    await ipn(ns, 'link', 'set', 'cni0', 'up');
  }
  await ipn(NS_A, 'addr', 'add', '198.18.0.99/24', 'dev', 'h1a');
}

/** Starts the engine of node n (1 = a, 2 = b) and waits until its TUN is configured. */
export async function startEngine(
  n: 1 | 2,
  side: EngineSide,
): Promise<{ child: EngineChild; status: NativeEngineStatus }> {
  const other = n === 1 ? 2 : 1;
  const config = {
    engine: {
      tunName: 'flannel0',
      localIp: `198.18.0.${n}`,
      port: PORT,
      mtu: TUN_MTU,
      localSubnet: `10.244.${n}.0/24`,
      mode: side.mode,
      offload: side.offload,
    },
    routes: [{ subnet: `10.244.${other}.0/24`, nodeIp: `198.18.0.${other}` }],
    tunAddress: `10.244.${n}.0/16`,
  };
  const proc = spawn(
    'ip',
    [
      'netns',
      'exec',
      n === 1 ? NS_A : NS_B,
      process.execPath,
      '--import',
      'tsx',
      CHILD,
      JSON.stringify(config),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const child = new EngineChild(proc);
  try {
    const ready = await child.next<{ ready: boolean; status: NativeEngineStatus; engineThreads: string[] }>();
    // The leak check after close looks for threads by name: they must carry it.
    // (Only kdp-* names count: a thread of Node's own that happened to start then is not the engine's.)
    const names = ready.engineThreads
      .map((t) => t.split(' ')[1])
      .filter((n) => n.startsWith('kdp-'))
      .sort();
    const expected = side.mode === 'baseline' ? ['kdp-baseline'] : ['kdp-tun', 'kdp-udp'];
    if (JSON.stringify(names) !== JSON.stringify(expected)) {
      throw new Error(
        `engine threads ${JSON.stringify(ready.engineThreads)}, expected ${expected.join(', ')}`,
      );
    }
    return { child, status: ready.status };
  } catch (e) {
    child.kill();
    throw e;
  }
}

/**
 * Sends `megabytes` of deterministic data over TCP from 10.244.1.1 (ns a) to 10.244.2.1:5001
 * (ns b); returns the SHA-256 and byte count each side saw.
 */
export async function tcpTransfer(
  megabytes: number,
): Promise<{ sent: string; received: string; bytes: number }> {
  const server = `
    const net = require('node:net'), crypto = require('node:crypto');
    const srv = net.createServer((s) => {
      const h = crypto.createHash('sha256'); let n = 0;
      s.on('data', (d) => { h.update(d); n += d.length; });
      s.on('end', () => { console.log(JSON.stringify({ n, sha: h.digest('hex') })); s.end(); srv.close(); });
    });
    srv.listen(5001, '10.244.2.1', () => console.log('listening'));`;
  const client = `
    const net = require('node:net'), crypto = require('node:crypto');
    const h = crypto.createHash('sha256');
    const s = net.connect({ host: '10.244.2.1', port: 5001, localAddress: '10.244.1.1' }, async () => {
      let x = 12345;
      for (let i = 0; i < ${megabytes * 16}; i++) {
        const b = Buffer.alloc(65536);
        for (let j = 0; j < b.length; j += 4) { x = (x * 1103515245 + 12345) >>> 0; b.writeUInt32BE(x, j); }
        h.update(b);
        if (!s.write(b)) await new Promise((r) => s.once('drain', r));
      }
      s.end();
    });
    s.on('close', () => console.log(h.digest('hex')));
    s.resume();`;
  const srv = spawn('ip', ['netns', 'exec', NS_B, process.execPath, '-e', server]);
  try {
    const srvLines = createInterface({ input: srv.stdout })[Symbol.asyncIterator]();
    const first = await srvLines.next();
    if (first.value !== 'listening') throw new Error('tcp sink did not start');
    const { stdout } = await inNs(NS_A, [process.execPath, '-e', client], 60_000);
    const result = await srvLines.next();
    const got = JSON.parse(result.value as string) as { n: number; sha: string };
    return { sent: stdout.trim(), received: got.sha, bytes: got.n };
  } finally {
    if (srv.exitCode === null) srv.kill();
  }
}

/** A datagram carrying a valid inner packet for node b's subnet, sent from a non-node address. */
export async function sendSpoofed(): Promise<void> {
  const script = `
    const dgram = require('node:dgram');
    const p = Buffer.alloc(28); p[0] = 0x45; p.writeUInt16BE(28, 2); p[8] = 64; p[9] = 17;
    p.writeUInt32BE(0x0af40105, 12); p.writeUInt32BE(0x0af40201, 16);
    const s = dgram.createSocket('udp4');
    s.bind(0, '198.18.0.99', () => s.send(p, ${PORT}, '198.18.0.2', () => s.close()));`;
  await inNs(NS_A, [process.execPath, '-e', script]);
}

/** An iperf3 TCP run from 10.244.1.1 (ns a) to 10.244.2.1 (ns b); the receiver's bits per second. */
export async function iperf3(
  seconds: number,
  streams = 1,
): Promise<{ bitsPerSecond: number; retransmits: number }> {
  const srv = spawn('ip', ['netns', 'exec', NS_B, 'iperf3', '-s', '-1', '-B', '10.244.2.1', '--forceflush']);
  try {
    // Ready when it says so: the first line is "Server listening on 5201".
    const lines = createInterface({ input: srv.stdout })[Symbol.asyncIterator]();
    for (let l = await lines.next(); !l.done && !/listening/.test(l.value as string); l = await lines.next());
    const { stdout } = await inNs(
      NS_A,
      ['iperf3', '-c', '10.244.2.1', '-B', '10.244.1.1', '-t', String(seconds), '-P', String(streams), '-J'],
      (seconds + 30) * 1000,
    );
    const end = (
      JSON.parse(stdout) as {
        end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits: number } };
      }
    ).end;
    return { bitsPerSecond: end.sum_received.bits_per_second, retransmits: end.sum_sent.retransmits };
  } finally {
    if (srv.exitCode === null) srv.kill();
  }
}
