/**
 * A lean HTTP/1.1 client for the benchmark: node:http (node:https with the CA and a client
 * certificate when the server authenticates) over a keep-alive agent with one socket per
 * concurrent lane, bodies sent as prepared bytes. The load generator's own cost then stays small
 * next to the server's (fetch/undici costs several times more per request in the caller).
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { KdpError } from '../../dataplane/errors.ts';
import type { BenchTls } from './server-worker.ts';

export interface Reply {
  status: number;
  body: Buffer;
}

export class BenchClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly request: typeof http.request;

  constructor(
    baseURL: string,
    maxSockets: number,
    private readonly tls?: BenchTls,
  ) {
    const u = new URL(baseURL);
    this.host = u.hostname;
    this.port = Number(u.port);
    const pool = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
    const secure = u.protocol === 'https:';
    this.agent = secure ? new https.Agent({ ...pool, ...tls }) : new http.Agent(pool);
    this.request = secure ? (https.request as typeof http.request) : http.request;
  }

  /** A GET on a connection of its own (a watch), with the same TLS and credentials. */
  stream(path: string, onResponse: (res: IncomingMessage) => void): ClientRequest {
    const req = this.request(
      { host: this.host, port: this.port, path, agent: false, ...this.tls },
      onResponse,
    );
    req.end();
    return req;
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
      const req = this.request(
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
