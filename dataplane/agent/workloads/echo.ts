/**
 * The kdp/echo workload: TCP echo (every byte back on the same connection) and UDP echo (every
 * datagram back to its sender), RFC 862 style, on the ports it is given. Tests and benchmarks use
 * it as the simplest possible backend; it imports nothing but node's own modules because it is
 * bundled into the pod's server program (bundle.ts).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Listener, RunningServer } from './server-types.ts';

export interface EchoOptions {
  bind: string;
  tcp: number[];
  udp: number[];
}

export async function startEcho(opts: EchoOptions): Promise<RunningServer> {
  const closers: (() => Promise<void>)[] = [];
  const listening: Listener[] = [];
  const sockets = new Set<net.Socket>();
  try {
    for (const port of opts.tcp) {
      const server = net.createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
        s.pipe(s);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, opts.bind, () => resolve());
      });
      listening.push({ protocol: 'TCP', port: (server.address() as net.AddressInfo).port });
      closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    }
    for (const port of opts.udp) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', (msg, from) => socket.send(msg, from.port, from.address));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, opts.bind, () => resolve());
      });
      listening.push({ protocol: 'UDP', port: socket.address().port });
      closers.push(() => new Promise((resolve) => socket.close(() => resolve())));
    }
  } catch (e) {
    await Promise.all(closers.map((c) => c()));
    throw e;
  }
  return {
    listening,
    async close() {
      for (const s of sockets) s.end();
      await Promise.all(closers.map((c) => c()));
    },
  };
}
