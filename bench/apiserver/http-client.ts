/**
 * A lean HTTP/1.1 client for the benchmark: node:http over a keep-alive agent with one socket per
 * concurrent lane, bodies sent as prepared bytes. The load generator's own cost then stays small
 * next to the server's (fetch/undici costs several times more per request in the caller).
 */
import { Agent, request } from 'node:http';
import { KdpError } from '../../dataplane/errors.ts';

export interface Reply {
  status: number;
  body: Buffer;
}

export class BenchClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseURL: string, maxSockets: number) {
    const u = new URL(baseURL);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  send(
    method: string,
    path: string,
    body?: Buffer | string,
    contentType = 'application/json',
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (body !== undefined) {
        headers['content-type'] = contentType;
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = request(
        { agent: this.agent, host: this.host, port: this.port, method, path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Like send, but fails unless the status is `expected`; returns the parsed JSON body. */
  async json(
    method: string,
    path: string,
    expected: number,
    body?: Buffer | string,
    contentType?: string,
  ): Promise<unknown> {
    const r = await this.send(method, path, body, contentType);
    if (r.status !== expected) {
      throw new KdpError(
        'KDP_ERR_BENCH_REQUEST',
        `${method} ${path}: HTTP ${r.status}, expected ${expected}: ${r.body.toString().slice(0, 300)}`,
      );
    }
    return JSON.parse(r.body.toString());
  }

  close(): void {
    this.agent.destroy();
  }
}
