/**
 * The HTTP face of the apiserver: node:http servers (TCP on loopback and a unix socket) that turn
 * requests into ApiRequests for the dispatcher and ApiResults into bytes. It adds only what is
 * about HTTP: TLS on TCP, authentication (client certificate or bearer token, see
 * ../auth/authenticator.ts), the body size limit while reading, watch streaming, /metrics and a
 * request log hook. Every API rule lives in the dispatcher; listener limits and TLS are in
 * listener.ts, reading a body within its limit in request-body.ts.
 */
import { chmodSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { describeError } from '../../errors.ts';
import type { Authenticator, UserInfo } from '../auth/authenticator.ts';
import { ApiError } from '../errors.ts';
import type { Dispatcher } from './dispatch.ts';
import { errorResult } from './dispatch.ts';
import type { ApiRequest, ApiResult } from './dispatch-types.ts';
import { ApiMetrics } from './api-metrics.ts';
import {
  createListener,
  HTTP_LIMIT_DEFAULTS,
  type HttpLimits,
  listenOn,
  type ListenerTls,
  removeStaleSocket,
} from './listener.ts';
import { DEFAULT_MAX_BODY_BYTES, readBody } from './request-body.ts';
import { metricVerb, parsePath, requestVerb, routeResource } from './rest-paths.ts';
import { serveWatch, type WatchEndReason, type WatchStream } from './watch-stream.ts';

export interface RequestLogEntry {
  method: string;
  path: string;
  query: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  resource: string;
  code: number;
  durationMs: number;
  /** For watches, why the stream ended. */
  watchEnd?: WatchEndReason;
  /** The authenticated user's name (absent for the open paths, refused and unauthenticated requests). */
  user?: string;
}

export interface ApiHttpServerOptions {
  dispatcher: Dispatcher;
  /** TCP listener; port 0 picks a free one. Omit for no TCP listener. */
  tcp?: { host: string; port: number };
  /** Unix socket path (made 0600; a stale socket file is removed first). */
  socketPath?: string;
  /**
   * TLS for the TCP listener: serving certificate and key (PEM), and the CA that client
   * certificates must chain to. Without it the TCP listener is plain HTTP.
   */
  tls?: ListenerTls;
  /**
   * Every request but /healthz, /readyz, /livez and /version must carry a credential it accepts,
   * else 401. Without one nothing is authenticated (only for the explicit insecure mode).
   */
  authenticator?: Authenticator;
  maxBodyBytes?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 5 s). */
  bookmarkIntervalMs?: number;
  /** Unsent bytes after which a watcher that does not read is cut off (default 16 MiB). */
  maxWatchBufferedBytes?: number;
  metrics?: ApiMetrics;
  /** Connection and request-time limits of every listener (defaults: HTTP_LIMIT_DEFAULTS). */
  limits?: Partial<HttpLimits>;
  onRequest?(entry: RequestLogEntry): void;
  /** Told of anything a request's handling threw (default: one line to stderr); the answer is a 500. */
  onError?(error: unknown, request: { method: string; path: string }): void;
}

const OPEN_PATHS = /^\/(healthz|readyz|livez|version)(\/|$)/;
const JSON_TYPE = 'application/json';

export class ApiHttpServer {
  readonly metrics: ApiMetrics;
  /** https://host:port (http:// without TLS) of the TCP listener, when there is one. */
  url?: string;
  port?: number;
  socketPath?: string;
  private readonly servers: Server[] = [];
  private readonly watches = new Set<WatchStream>();
  private closing?: Promise<void>;

  private constructor(private readonly opts: ApiHttpServerOptions) {
    this.metrics = opts.metrics ?? new ApiMetrics();
  }

  static async listen(opts: ApiHttpServerOptions): Promise<ApiHttpServer> {
    const s = new ApiHttpServer(opts);
    try {
      if (opts.tcp) {
        const server = s.newServer(opts.tls);
        await listenOn(server, () => server.listen(opts.tcp!.port, opts.tcp!.host));
        const addr = server.address();
        if (addr && typeof addr === 'object') {
          s.port = addr.port;
          const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          s.url = `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
        }
      }
      if (opts.socketPath) {
        const path = opts.socketPath;
        await removeStaleSocket(path);
        const server = s.newServer();
        await listenOn(server, () => server.listen(path));
        chmodSync(path, 0o600);
        s.socketPath = path;
      }
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** Number of open watch streams. */
  get watchCount(): number {
    return this.watches.size;
  }

  private newServer(tls?: ListenerTls): Server {
    const handler = (req: IncomingMessage, res: ServerResponse) =>
      this.guard(req, res, () => this.handle(req, res))();
    const server = createListener({ ...HTTP_LIMIT_DEFAULTS, ...this.opts.limits }, tls, handler);
    this.servers.push(server);
    return server;
  }

  /**
   * Wraps a request's handling, or a later callback of it (body read, promise, close event), so
   * that whatever it throws is logged and answered 500 instead of taking the process down.
   */
  private guard<A extends unknown[]>(
    req: IncomingMessage,
    res: ServerResponse,
    fn: (...args: A) => void,
  ): (...args: A) => void {
    return (...args) => {
      try {
        fn(...args);
      } catch (e) {
        this.logError(e, req);
        if (res.headersSent) res.destroy();
        else if (!res.destroyed) writeResult(res, errorResult(e));
      }
    };
  }

  private logError(e: unknown, req: IncomingMessage): void {
    const request = { method: req.method ?? '', path: (req.url ?? '').split('?')[0] };
    try {
      if (this.opts.onError) this.opts.onError(e, request);
      else
        process.stderr.write(`kdp apiserver error: ${request.method} ${request.path}: ${describeError(e)}\n`);
    } catch {
      // A failing log hook must not turn a 500 into a crash.
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const url = requestTarget(req.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const route = parsePath(url.pathname);
    const contentType = req.headers['content-type'];
    const resource = routeResource(route);
    const mverb = metricVerb(method, route, url.searchParams, contentType);
    let watchEnd: WatchEndReason | undefined;
    const onClose = () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.observe(mverb, resource, res.statusCode, mverb === 'WATCH' ? undefined : seconds);
      this.opts.onRequest?.({
        method,
        path: url.pathname,
        query: url.search,
        verb: requestVerb(method, route, url.searchParams),
        resource,
        code: res.statusCode,
        durationMs: seconds * 1000,
        watchEnd,
        user: user?.name,
      });
    };
    res.once('close', this.guard(req, res, onClose));
    let user: UserInfo | undefined;
    if (this.opts.authenticator && !OPEN_PATHS.test(url.pathname)) {
      user = this.opts.authenticator.authenticate(req);
      if (!user) return writeResult(res, errorResult(new ApiError('Unauthorized', 'Unauthorized')));
    }
    if (url.pathname === '/metrics') {
      if (method !== 'GET' && method !== 'HEAD') {
        return writeResult(
          res,
          errorResult(
            new ApiError(
              'MethodNotAllowed',
              'the server does not allow this method on the requested resource',
            ),
          ),
        );
      }
      this.metrics.text().then(
        this.guard(req, res, (text: string) =>
          writeResult(res, { kind: 'text', status: 200, body: text, contentType: this.metrics.contentType }),
        ),
        (e: unknown) => writeResult(res, errorResult(e)),
      );
      return;
    }
    const onBody = (err: ApiError | undefined, body?: Buffer) => {
      if (err) {
        res.setHeader('Connection', 'close');
        return writeResult(res, errorResult(err));
      }
      const apiReq: ApiRequest = {
        method: method as ApiRequest['method'],
        path: url.pathname,
        query: url.searchParams,
        contentType,
        accept: req.headers.accept,
        body,
        user,
      };
      const result = this.opts.dispatcher(apiReq);
      if (result.kind !== 'watch') return writeResult(res, result);
      const kind = result.objectKind;
      const stream = serveWatch(res, result, {
        bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 5000,
        maxBufferedBytes: this.opts.maxWatchBufferedBytes ?? 16 * 1024 * 1024,
        onEnd: (reason) => {
          watchEnd = reason;
          this.watches.delete(stream!);
          if (kind) this.metrics.watchClosed(kind);
        },
      });
      if (stream) {
        this.watches.add(stream);
        if (kind) this.metrics.watchOpened(kind);
      }
    };
    readBody(req, this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, this.guard(req, res, onBody));
  }

  /** Ends every watch, stops listening, closes idle and open connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const w of [...this.watches]) w.end();
      await Promise.all(
        this.servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              if (!server.listening) return resolve();
              server.close(() => resolve());
              server.closeIdleConnections();
              // Requests still running get a moment to finish their answer, then their connections go.
              setTimeout(() => server.closeAllConnections(), 1000).unref();
            }),
        ),
      );
    })();
    return this.closing;
  }
}

/**
 * The path exactly as sent and the query. WHATWG URL parsing would resolve `%2e%2e` segments
 * before routing (turning .../services/%2e%2e into the Namespace), so the path is never parsed
 * as a URL; rest-paths.ts splits and checks it segment by segment.
 */
function requestTarget(target = '/'): { pathname: string; search: string; searchParams: URLSearchParams } {
  const q = target.indexOf('?');
  const pathname = q < 0 ? target : target.slice(0, q);
  const search = q < 0 ? '' : target.slice(q);
  return { pathname, search, searchParams: new URLSearchParams(search) };
}

/** RFC 7234 warning, code 299 as upstream sends: `299 - "unknown field \"spec.foo\""`. */
function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text.replace(/[^\x20-\x7e]/g, '?'))}`;
}

function writeResult(res: ServerResponse, result: Exclude<ApiResult, { kind: 'watch' }>): void {
  if (res.headersSent || res.destroyed) return;
  const body = result.kind === 'text' ? result.body : JSON.stringify(result.body);
  res.writeHead(result.status, {
    'Content-Type': result.kind === 'text' ? result.contentType : JSON_TYPE,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-cache, private',
    ...(result.kind === 'object' && result.warnings?.length
      ? { Warning: result.warnings.map(warningHeader) }
      : {}),
  });
  res.end(body);
}
