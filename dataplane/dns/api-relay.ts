/**
 * How a DNS pod reads the cluster without holding a credential. Pods reach neither the apiserver's
 * socket nor its TCP listener (docs/SECURITY.md), and any kdp credential is a cluster
 * administrator, so the node agent serves each kdp/dns container a read-only view instead: a unix
 * socket in the container's own directory (owned by the container's user, 0600; unix sockets are
 * files, so the pod's network namespace does not matter), on which only GETs of the collections
 * the DNS watches are passed to the apiserver, with the agent's token added by the relay. Anything
 * else is 403 without reaching the apiserver. The relay lives in the agent: when the agent
 * restarts, the DNS keeps answering from its cache and its informers reconnect.
 */
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { KdpError } from '../errors.ts';

export const RELAY_SOCKET = 'api.sock';

/** Cluster-wide lists and watches of Services and EndpointSlices; nothing else. */
const ALLOWED = [/^\/api\/v1\/services(\?|$)/, /^\/apis\/discovery\.k8s\.io\/v1\/endpointslices(\?|$)/];

export function relayAllows(method: string | undefined, url: string | undefined): boolean {
  return method === 'GET' && typeof url === 'string' && ALLOWED.some((re) => re.test(url));
}

export interface RelayOptions {
  /** The container's own directory; the socket is `<dir>/api.sock`. */
  dir: string;
  uid: number;
  gid: number;
  /** The apiserver's unix socket and the token the agent uses on it. */
  apiSocket: string;
  token?: string;
  /** Most connections at a time (each watch holds one); default 16. */
  maxConnections?: number;
}

export class ApiRelay {
  private closed?: Promise<void>;

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async start(o: RelayOptions): Promise<ApiRelay> {
    const path = join(o.dir, RELAY_SOCKET);
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    await rm(path, { force: true });
    const server = createServer((req, res) => forward(o, req, res));
    server.maxConnections = o.maxConnections ?? 16;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      throw new KdpError('KDP_ERR_DNS_RELAY', `cannot listen on ${path}`, { cause: e });
    });
    await chmod(path, 0o600);
    await chown(path, o.uid, o.gid);
    return new ApiRelay(server, path);
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    }).then(() => rm(this.path, { force: true }));
    return this.closed;
  }
}

function forward(o: RelayOptions, req: IncomingMessage, res: ServerResponse): void {
  if (!relayAllows(req.method, req.url)) {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: 'the DNS relay passes only GETs of services and endpointslices',
      }),
    );
    return;
  }
  const up = request(
    {
      socketPath: o.apiSocket,
      method: 'GET',
      path: req.url,
      headers: {
        accept: req.headers.accept ?? 'application/json',
        'user-agent': 'kdp-dns-relay',
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      },
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.destroy();
  });
  res.on('close', () => up.destroy());
  up.end();
}
