/**
 * The DNS server's sockets: UDP and TCP on the same port (53 in a pod). UDP is one datagram per
 * query; TCP is RFC 1035's two-byte length framing, several queries per connection, with a cap on
 * connections, on a frame's wait and on an idle connection, so no client can hold the server.
 * Every answer comes from message.ts, which never throws; a socket error is counted and the server
 * goes on. `close()` is idempotent.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { KdpError } from '../errors.ts';
import type { ClusterIndex } from './cluster-index.ts';
import { answerQuery } from './message.ts';
import type { SchemaOptions } from './records.ts';

export interface DnsServerOptions extends SchemaOptions {
  bind?: string;
  port?: number;
  /** The index answers are read from, asked once per query (the feed rebuilds it lazily). */
  index: () => ClusterIndex;
  /** Most TCP connections at a time; default 256. */
  maxTcpConnections?: number;
  /** An idle TCP connection is closed after this long, ms; default 10 s. */
  tcpIdleMs?: number;
}

export interface DnsServerStats {
  queries: number;
  dropped: number;
  byRcode: Record<number, number>;
}

export class DnsServer {
  readonly stats: DnsServerStats = { queries: 0, dropped: 0, byRcode: {} };
  private closed?: Promise<void>;
  private readonly conns = new Set<Socket>();

  private constructor(
    private readonly o: DnsServerOptions,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    readonly port: number,
  ) {}

  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const bind = o.bind ?? '0.0.0.0';
    const udp = createSocket({ type: bind.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(o.port ?? 53, bind, () => {
        udp.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      throw new KdpError('KDP_ERR_DNS_LISTEN', `cannot bind UDP ${bind}:${o.port ?? 53}`, { cause: e });
    });
    const port = udp.address().port;
    const tcp = createServer();
    tcp.maxConnections = o.maxTcpConnections ?? 256;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, bind, () => {
        tcp.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      udp.close();
      throw new KdpError('KDP_ERR_DNS_LISTEN', `cannot listen on TCP ${bind}:${port}`, { cause: e });
    });
    const server = new DnsServer(o, udp, tcp, port);
    udp.on('message', (msg, rinfo) => server.onDatagram(msg, rinfo.address, rinfo.port));
    udp.on('error', () => server.stats.dropped++);
    tcp.on('connection', (s) => server.onConnection(s));
    tcp.on('error', () => server.stats.dropped++);
    return server;
  }

  private answer(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    this.stats.queries++;
    const r = answerQuery(msg, this.o.index, transport, this.o);
    if (r.rcode !== undefined) this.stats.byRcode[r.rcode] = (this.stats.byRcode[r.rcode] ?? 0) + 1;
    else this.stats.dropped++;
    return r.response;
  }

  private onDatagram(msg: Buffer, address: string, port: number): void {
    const out = this.answer(msg, 'udp');
    if (out) this.udp.send(out, port, address, (e) => e && this.stats.dropped++);
  }

  private onConnection(s: Socket): void {
    this.conns.add(s);
    s.setTimeout(this.o.tcpIdleMs ?? 10_000, () => s.destroy());
    s.on('close', () => this.conns.delete(s));
    s.on('error', () => s.destroy());
    let pending: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const size = pending.readUInt16BE(0);
        if (pending.length < 2 + size) break;
        const msg = pending.subarray(2, 2 + size);
        pending = pending.subarray(2 + size);
        const out = this.answer(msg, 'tcp');
        if (!out) {
          s.destroy(); // not even a header: the stream cannot be trusted to be framed
          return;
        }
        const frame = Buffer.alloc(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        s.write(frame);
      }
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const s of this.conns) s.destroy();
      await Promise.all([
        new Promise<void>((r) => this.udp.close(() => r())),
        new Promise<void>((r) => this.tcp.close(() => r())),
      ]);
    })();
    return this.closed;
  }
}
