/**
 * The embedded apiserver, assembled: store (durable with SQLite when given a data dir),
 * allocators rebuilt from the stored Services, the registry with every kind's strategy, the
 * dispatcher, and the HTTP servers (TCP with TLS on loopback, and a unix socket). At start it
 * creates what a fresh upstream cluster has (the four system namespaces and the `kubernetes`
 * Service) and writes a kubeconfig that kubectl and client libraries accept as it is.
 *
 * Every listener authenticates, as kube-apiserver: the PKI (pki/ of the state dir) gives the TCP
 * listener its serving certificate and signs client certificates; a token made at each start
 * (`apiserver.token`, 0600) is the bearer credential for the unix socket and the node agents; a
 * token file in kube-apiserver's --token-auth-file format adds more. Only the explicit insecure
 * mode, refused off loopback, serves without authentication.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Address4 } from 'ip-address';
import { stringify as toYaml } from 'yaml';
import { KdpError } from '../errors.ts';
import { Authenticator, readTokenFile, type TokenEntry } from './auth/authenticator.ts';
import { type ClientCertificateRequest, ClusterPki, type KeyPairPem } from './auth/pki.ts';
import { createAllocators } from './allocators/index.ts';
import { ApiError } from './errors.ts';
import { createDispatcher, type Dispatcher } from './http/dispatch.ts';
import { DEFAULT_MAX_BODY_BYTES } from './http/request-body.ts';
import type { HttpLimits } from './http/listener.ts';
import { ApiHttpServer, type RequestLogEntry } from './http/http-server.ts';
import { ApiMetrics } from './http/api-metrics.ts';
import { Registry } from './registry/generic-registry.ts';
import { createStrategies } from './registry/strategies/index.ts';
import { findResource, groupResource } from './resources.ts';
import { SqlitePersistence } from './store/sqlite.ts';
import { Store } from './store/store.ts';
import type { KubeObject, Service } from './types.ts';

export interface ApiServerOptions {
  /** Service CIDR ClusterIPs come from (default 10.96.0.0/16). */
  serviceCIDR?: string;
  /** NodePort range (default 30000-32767). */
  nodePortRange?: { first: number; last: number };
  /** TCP listen address (default 127.0.0.1); `false` for no TCP listener. */
  host?: string | false;
  /** TCP port, 0 for a free one (default 0). */
  port?: number;
  /** Unix socket path (default `${stateDir}/apiserver.sock`); `false` for none. */
  socketPath?: string | false;
  /** Refuse every new Service externalIP (upstream's DenyServiceExternalIPs admission plugin). */
  denyServiceExternalIPs?: boolean;
  /** More bearer tokens, in kube-apiserver's --token-auth-file format (the file must be 0600). */
  tokenFile?: string;
  /**
   * Serve plain HTTP without any authentication, for throwaway machines only: anyone who can
   * reach the port controls the cluster (and, in a cluster, root on this host). Refused unless
   * the TCP address is loopback.
   */
  insecureAllowUnauthenticated?: boolean;
  /** Keep objects in `${dataDir}/state.db` across restarts; in memory only when absent. */
  dataDir?: string;
  /** Where the kubeconfig and the socket go (default `.kdp` under the working directory). */
  stateDir?: string;
  /** Kubeconfig path (default `${stateDir}/kubeconfig`). */
  kubeconfigPath?: string;
  /** Watch events kept for clients to resume from (default 20000). */
  watchWindow?: number;
  /** Largest request body, bytes (default 3 MiB, as upstream). */
  maxBodyBytes?: number;
  /** Default watch timeout in seconds; each watch gets 1-2x this (default 1800). */
  watchTimeoutSeconds?: number;
  bookmarkIntervalMs?: number;
  maxWatchBufferedBytes?: number;
  /** Connection and request-time limits of the listeners (defaults in HTTP_LIMIT_DEFAULTS). */
  httpLimits?: Partial<HttpLimits>;
  onRequest?(entry: RequestLogEntry): void;
}

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';
export const DEFAULT_NODE_PORT_RANGE = { first: 30000, last: 32767 };
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** The kubeconfig's user, as kubeadm's admin.conf. */
const ADMIN_USER = { user: 'kubernetes-admin', groups: ['system:masters'] };
/** The user of the local token (apiserver.token): the node agents and kdp's own commands. */
const LOCAL_USER = { user: 'kdp:local', groups: ['system:masters'] };
export const INSECURE_ERROR = 'KDP_ERR_APISERVER_INSECURE';

/** What the server's clients need to authenticate (absent in the insecure mode). */
export interface ServerCredentials {
  /** The cluster CA (PEM): verifies the server, signs client certificates. */
  ca: string;
  /** The admin's client certificate and key, as in the kubeconfig. */
  admin: KeyPairPem;
  /** The file (0600) holding the local bearer token. */
  tokenPath: string;
}

export class ApiServer implements AsyncDisposable {
  private closed?: Promise<void>;

  private constructor(
    readonly store: Store,
    readonly registry: Registry,
    readonly dispatcher: Dispatcher,
    private readonly http: ApiHttpServer,
    /** http://127.0.0.1:PORT, when listening on TCP. */
    readonly url: string | undefined,
    readonly socketPath: string | undefined,
    readonly kubeconfigPath: string,
    /** Undefined only in the insecure mode. */
    readonly credentials: ServerCredentials | undefined,
    private readonly pki: ClusterPki | undefined,
  ) {}

  /** A client certificate signed by the cluster CA, e.g. for another user or an expiry test. */
  issueClientCertificate(req: ClientCertificateRequest): Promise<KeyPairPem> {
    if (!this.pki) throw new KdpError(INSECURE_ERROR, 'the insecure apiserver has no PKI');
    return this.pki.issueClient(req);
  }

  get metrics(): ApiMetrics {
    return this.http.metrics;
  }

  static async start(opts: ApiServerOptions = {}): Promise<ApiServer> {
    const stateDir = resolve(opts.stateDir ?? '.kdp');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const host = opts.host === undefined ? '127.0.0.1' : opts.host;
    const security = opts.insecureAllowUnauthenticated
      ? insecureMode(host)
      : await secureMode(stateDir, host, opts.tokenFile);
    const serviceCIDR = opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR;
    const allocators = createAllocators({
      serviceCIDR,
      nodePortRange: opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE,
    });
    let persistence: SqlitePersistence | undefined;
    if (opts.dataDir) {
      mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
      persistence = new SqlitePersistence(join(opts.dataDir, 'state.db'));
    }
    let store: Store;
    try {
      store = new Store({ persistence, windowSize: opts.watchWindow });
    } catch (e) {
      // Loading failed (e.g. a corrupt object): release the database and its lock.
      persistence?.close();
      throw e;
    }
    let http: ApiHttpServer | undefined;
    try {
      allocators.rebuild(store.list('services').items as Service[]);
      const strategies = createStrategies({ denyServiceExternalIPs: opts.denyServiceExternalIPs });
      const registry = new Registry(store, strategies, allocators);
      bootstrap(registry, serviceCIDR);
      const metrics = new ApiMetrics({ storedObjects: (info) => store.count(groupResource(info)) });
      // The dispatcher needs the address for /api; the TCP port is known only once listening.
      let serverAddress: string | undefined;
      const dispatch = createDispatcher(registry, {
        maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        watchTimeoutSeconds: opts.watchTimeoutSeconds,
        get serverAddress() {
          return serverAddress;
        },
      });
      const socketPath = opts.socketPath === undefined ? join(stateDir, 'apiserver.sock') : opts.socketPath;
      http = await ApiHttpServer.listen({
        dispatcher: dispatch,
        tcp: host === false ? undefined : { host, port: opts.port ?? 0 },
        socketPath: socketPath || undefined,
        tls: security.tls,
        authenticator: security.authenticator,
        maxBodyBytes: opts.maxBodyBytes,
        bookmarkIntervalMs: opts.bookmarkIntervalMs,
        maxWatchBufferedBytes: opts.maxWatchBufferedBytes,
        limits: opts.httpLimits,
        metrics,
        onRequest: opts.onRequest,
      });
      const url = http.url ? clientURL(http.url) : undefined;
      if (url) serverAddress = new URL(url).host;
      const kubeconfigPath = resolve(opts.kubeconfigPath ?? join(stateDir, 'kubeconfig'));
      if (url) writeKubeconfig(kubeconfigPath, url, security.credentials);
      return new ApiServer(
        store,
        registry,
        dispatch,
        http,
        url,
        http.socketPath,
        kubeconfigPath,
        security.credentials,
        security.pki,
      );
    } catch (e) {
      await http?.close();
      store.close();
      throw e;
    }
  }

  /** Stops the servers (ending every watch) and closes the store. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      try {
        await this.http.close();
      } finally {
        this.store.close();
      }
    })();
    return this.closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

interface Security {
  tls?: { cert: string; key: string; clientCA: string };
  authenticator?: Authenticator;
  credentials?: ServerCredentials;
  pki?: ClusterPki;
}

/** The CA (reused when valid), a serving certificate for `host`, the admin's certificate, the local token. */
async function secureMode(stateDir: string, host: string | false, tokenFile?: string): Promise<Security> {
  const extraTokens: TokenEntry[] = tokenFile ? readTokenFile(tokenFile) : [];
  const pki = await ClusterPki.open(join(stateDir, 'pki'));
  const serving = await pki.issueServing(host ? [host] : []);
  const admin = await pki.issueClient(ADMIN_USER);
  const token = randomBytes(32).toString('base64url');
  const tokenPath = join(stateDir, 'apiserver.token');
  writeFileSync(tokenPath, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenPath, 0o600);
  return {
    tls: { cert: serving.cert, key: serving.key, clientCA: pki.caCert },
    authenticator: new Authenticator([{ token, ...LOCAL_USER }, ...extraTokens]),
    credentials: { ca: pki.caCert, admin, tokenPath },
    pki,
  };
}

function insecureMode(host: string | false): Security {
  if (host !== false && !isLoopback(host)) {
    throw new KdpError(
      INSECURE_ERROR,
      `refusing to serve without authentication on ${host}: --insecure-allow-unauthenticated is only allowed on a loopback address (127.0.0.1, ::1, localhost)`,
    );
  }
  console.error(
    'WARNING: the apiserver serves plain HTTP WITHOUT AUTHENTICATION (--insecure-allow-unauthenticated): ' +
      'every local user can control this cluster, and its agents run as root. Use it only on a throwaway machine.',
  );
  return {};
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** A listener on a wildcard address is reached on loopback. */
function clientURL(listenURL: string): string {
  const u = new URL(listenURL);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.origin;
}

/** The first address of the service CIDR, which the `kubernetes` Service holds, as upstream. */
export function firstServiceIP(serviceCIDR: string): string {
  const net = new Address4(serviceCIDR);
  return Address4.fromBigInt(net.startAddress().bigInt() + 1n).correctForm();
}

/** Creates what a fresh upstream cluster has, when it is missing (a restart finds it stored). */
function bootstrap(registry: Registry, serviceCIDR: string): void {
  const namespaces = findResource('', 'namespaces')!;
  const services = findResource('', 'services')!;
  const ensure = (info: typeof namespaces, ns: string, obj: KubeObject) => {
    try {
      registry.create(info, ns, obj);
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) {
        throw new KdpError(
          'KDP_ERR_APISERVER_BOOTSTRAP',
          `could not create ${info.resource} "${obj.metadata.name}" at start`,
          {
            cause: e,
          },
        );
      }
    }
  };
  for (const name of SYSTEM_NAMESPACES) {
    if (!registry.store.get('namespaces', '', name))
      ensure(namespaces, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  if (!registry.store.get('services', 'default', 'kubernetes')) {
    ensure(services, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
      spec: {
        type: 'ClusterIP',
        clusterIP: firstServiceIP(serviceCIDR),
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
        sessionAffinity: 'None',
      },
    });
  }
}

/**
 * A kubeconfig with one cluster, user and context named kdp; 0600 since it holds the admin's key.
 * The cluster carries the CA and the user the admin's client certificate. Only the insecure mode
 * has a plain http:// server, which has no TLS to verify: `insecure-skip-tls-verify` says so, as
 * @kubernetes/client-node requires before it talks to an http:// server at all.
 */
export function writeKubeconfig(path: string, server: string, credentials?: ServerCredentials): void {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const cluster = credentials
    ? { server, 'certificate-authority-data': b64(credentials.ca) }
    : { server, 'insecure-skip-tls-verify': true };
  const user = credentials
    ? {
        'client-certificate-data': b64(credentials.admin.cert),
        'client-key-data': b64(credentials.admin.key),
      }
    : {};
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kdp', cluster }],
    users: [{ name: 'kdp', user }],
    contexts: [{ name: 'kdp', context: { cluster: 'kdp', user: 'kdp', namespace: 'default' } }],
    'current-context': 'kdp',
    preferences: {},
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, toYaml(config), { mode: 0o600 });
  chmodSync(path, 0o600);
}
