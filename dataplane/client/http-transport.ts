/**
 * The Transport over HTTP: kdp's own apiserver on TCP or a unix socket, or a real cluster over
 * HTTPS (CA, client certificate, bearer token, from a kubeconfig). One keep-alive Agent per
 * transport, so a controller's many small requests reuse connections. Failures come back typed:
 * ApiError with the server's Status for non-2xx answers, KdpError KDP_ERR_API_UNREACHABLE (with the
 * address) when there is no server to talk to.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { ApiError } from '../api/errors.ts';
import type { Status, WatchEvent } from '../api/types.ts';
import { KdpError } from '../errors.ts';
import { contentTypeFor } from './client.ts';
import type { Transport, TransportRequest } from './interface.ts';

export interface HttpTransportOptions {
  /** Base URL, http(s)://host:port, optionally with a path prefix. Ignored for the host when `socketPath` is set. */
  url?: string;
  /** Unix socket the apiserver listens on (plain HTTP over it). */
  socketPath?: string;
  /** Bearer token for the Authorization header. */
  token?: string;
  /** PEM CA bundle for HTTPS, as data or a file. */
  ca?: string | Buffer;
  caFile?: string;
  /** PEM client certificate and key for HTTPS client-certificate auth. */
  cert?: string | Buffer;
  key?: string | Buffer;
  insecureSkipTLSVerify?: boolean;
  /** Time limit for a non-watch request, ms; 0 disables. Default 30 s. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

export function createHttpTransport(opts: HttpTransportOptions): Transport {
  if (!opts.url && !opts.socketPath) {
    throw new KdpError('KDP_ERR_API_UNREACHABLE', 'no apiserver address: give a URL or a unix socket path');
  }
  const base = new URL(opts.socketPath ? 'http://localhost' : (opts.url as string));
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new KdpError(
      'KDP_ERR_API_UNREACHABLE',
      `apiserver URL ${opts.url} must start with http:// or https://`,
    );
  }
  const secure = base.protocol === 'https:' && !opts.socketPath;
  const address = opts.socketPath ? `unix:${opts.socketPath}` : base.origin;
  const prefix = base.pathname.replace(/\/+$/, '');
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        ca: opts.ca ?? (opts.caFile ? readCaFile(opts.caFile) : undefined),
        cert: opts.cert,
        key: opts.key,
        rejectUnauthorized: !opts.insecureSkipTLSVerify,
      })
    : new http.Agent({ keepAlive: true });
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;

  function send(req: TransportRequest, watch: boolean): Promise<http.IncomingMessage> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const qs = query.toString();
    const path = `${prefix}${req.path}${qs ? `?${qs}` : ''}`;
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json' };
    if (opts.userAgent) headers['User-Agent'] = opts.userAgent;
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (body) {
      headers['Content-Type'] = contentTypeFor(req);
      headers['Content-Length'] = body.length;
    }
    const options: http.RequestOptions = {
      method: req.method,
      path,
      headers,
      agent,
      signal: req.signal,
      ...(opts.socketPath
        ? { socketPath: opts.socketPath }
        : { host: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || (secure ? 443 : 80) }),
    };
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const cr = (secure ? https : http).request(options, resolve);
      cr.on('error', (err) => reject(connectionError(err, req, address)));
      if (!watch && requestTimeoutMs > 0) {
        cr.setTimeout(requestTimeoutMs, () =>
          cr.destroy(
            new KdpError(
              'KDP_ERR_API_TIMEOUT',
              `${req.method} ${req.path} to ${address} got no answer within ${requestTimeoutMs} ms`,
            ),
          ),
        );
      }
      cr.end(body);
    });
  }

  return {
    async request(req) {
      const res = await send(req, false);
      const text = await readBody(res, req, address);
      if (!isSuccess(res)) throw errorFromResponse(res, text, req);
      if (!text) return undefined;
      return isJson(res) ? parseJson(text, req) : text;
    },

    async watch(req, onEvent) {
      if (req.signal?.aborted) return;
      let res: http.IncomingMessage;
      try {
        res = await send(req, true);
      } catch (err) {
        if (req.signal?.aborted) return;
        throw err;
      }
      if (!isSuccess(res)) throw errorFromResponse(res, await readBody(res, req, address), req);
      await readEvents(res, req, address, onEvent);
    },

    close() {
      agent.destroy();
    },
  };
}

function readCaFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KdpError(
      'KDP_ERR_TLS_CA_UNREADABLE',
      `cannot read the CA file ${file}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function isSuccess(res: http.IncomingMessage): boolean {
  const code = res.statusCode ?? 0;
  return code >= 200 && code < 300;
}

function isJson(res: http.IncomingMessage): boolean {
  return /json/i.test(res.headers['content-type'] ?? '');
}

function parseJson(text: string, req: TransportRequest): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new KdpError(
      'KDP_ERR_API_BAD_RESPONSE',
      `${req.method} ${req.path}: the server sent invalid JSON`,
      {
        cause: err,
      },
    );
  }
}

function connectionError(err: unknown, req: TransportRequest, address: string): unknown {
  // Our own typed errors (timeout) and the caller's abort pass through unchanged.
  if (err instanceof KdpError || (err as Error).name === 'AbortError') return err;
  const e = err as NodeJS.ErrnoException;
  const tls = /CERT|SIGNATURE|ALTNAME|ISSUER/.test(e.code ?? '');
  const hint = tls
    ? "the server's certificate is not trusted (is the kubeconfig's certificate-authority this cluster's CA?)"
    : 'is it running?';
  return new KdpError(
    'KDP_ERR_API_UNREACHABLE',
    `cannot reach the apiserver at ${address} (${req.method} ${req.path}): ${e.code ?? e.message}; ${hint}`,
    { cause: err, details: { address } },
  );
}

function streamLost(req: TransportRequest, address: string, cause?: unknown): KdpError {
  return new KdpError(
    'KDP_ERR_API_UNREACHABLE',
    `watch ${req.path} on ${address}: the connection was lost mid-stream`,
    {
      cause,
      details: { address },
    },
  );
}

function readBody(res: http.IncomingMessage, req: TransportRequest, address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (err) => reject(connectionError(err, req, address)));
  });
}

/** The server's Status when it sent one, else an ApiError for the bare HTTP code. */
function errorFromResponse(res: http.IncomingMessage, text: string, req: TransportRequest): ApiError {
  const code = res.statusCode ?? 500;
  try {
    const parsed = JSON.parse(text) as Partial<Status>;
    if (parsed && parsed.kind === 'Status') return ApiError.fromStatus(parsed as Status, code);
  } catch {
    // Not JSON: a proxy's or load balancer's page; described below.
  }
  const snippet = text.trim().slice(0, 200);
  return ApiError.fromStatus(
    {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: `${req.method} ${req.path}: HTTP ${code}${snippet ? `: ${snippet}` : ''}`,
      code,
    },
    code,
  );
}

/**
 * Reads a watch stream: one JSON WatchEvent per line, lines split across chunks (and multi-byte
 * characters across chunk boundaries) reassembled. An ERROR event ends the watch with its Status.
 */
function readEvents(
  res: http.IncomingMessage,
  req: TransportRequest,
  address: string,
  onEvent: (ev: WatchEvent) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (err !== undefined) {
        res.destroy();
        reject(err);
      } else resolve();
    };
    const line = (text: string) => {
      if (!text.trim()) return;
      let ev: WatchEvent;
      try {
        ev = JSON.parse(text) as WatchEvent;
      } catch (err) {
        throw new KdpError(
          'KDP_ERR_API_BAD_RESPONSE',
          `watch ${req.path}: the server sent a line that is not JSON`,
          {
            cause: err,
          },
        );
      }
      if (ev.type === 'ERROR') {
        const status = ev.object as unknown as Status;
        throw status?.kind === 'Status'
          ? ApiError.fromStatus(status)
          : new ApiError('InternalError', `watch ${req.path}: ERROR event without a Status`);
      }
      onEvent(ev);
    };
    const take = (text: string) => {
      pending += text;
      let nl: number;
      while (!done && (nl = pending.indexOf('\n')) >= 0) {
        const one = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        line(one);
      }
    };
    res.on('data', (chunk: Buffer) => {
      try {
        take(decoder.write(chunk));
      } catch (err) {
        finish(err);
      }
    });
    res.on('end', () => {
      try {
        take(decoder.end());
        if (!done) line(pending);
        finish();
      } catch (err) {
        finish(err);
      }
    });
    res.on('error', (err) => {
      finish(req.signal?.aborted ? undefined : streamLost(req, address, err));
    });
    res.on('close', () => {
      // An abort destroys the socket without 'end'; the caller asked for it, so it is a clean end.
      if (req.signal?.aborted) finish();
      else if (!res.complete) finish(streamLost(req, address));
    });
  });
}
