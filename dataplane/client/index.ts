/**
 * The client's front door: `connect()` picks the transport from what the caller has (the
 * apiserver's dispatcher in the same process, a URL or unix socket, or a kubeconfig for a real
 * cluster) and returns the same ApiClient for all of them.
 */
import { readFileSync } from 'node:fs';
import type { Dispatcher } from '../api/http/dispatch.ts';
import { KdpError } from '../errors.ts';
import { createClient } from './client.ts';
import { createHttpTransport } from './http-transport.ts';
import { createInProcessTransport } from './inprocess-transport.ts';
import type { ApiClient } from './interface.ts';
import { loadKubeconfig } from './kubeconfig.ts';

export interface ConnectOptions {
  /** kubeconfig file; used when no dispatcher, url or socketPath is given (default: $KUBECONFIG, ~/.kube/config). */
  kubeconfig?: string;
  /** kubeconfig context instead of current-context. */
  context?: string;
  /** http(s)://host:port of an apiserver. */
  url?: string;
  /** Unix socket of kdp's apiserver. */
  socketPath?: string;
  /** Bearer token for url or socketPath. */
  token?: string;
  /** A file holding the bearer token (e.g. a kdp cluster's apiserver.token), read once here. */
  tokenFile?: string;
  /** kdp's dispatcher, to call the apiserver in-process. */
  dispatcher?: Dispatcher;
  /** Time limit for non-watch requests over HTTP, ms. */
  requestTimeoutMs?: number;
}

function readTokenFile(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new KdpError(
      'KDP_ERR_API_TOKEN_FILE',
      `cannot read the token file ${path}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  if (!token) throw new KdpError('KDP_ERR_API_TOKEN_FILE', `the token file ${path} is empty`);
  return token;
}

export function connect(opts: ConnectOptions = {}): ApiClient {
  if (opts.dispatcher) return createClient(createInProcessTransport(opts.dispatcher));
  const userAgent = 'kdp';
  if (opts.url || opts.socketPath) {
    return createClient(
      createHttpTransport({
        url: opts.url,
        socketPath: opts.socketPath,
        token: opts.token ?? (opts.tokenFile ? readTokenFile(opts.tokenFile) : undefined),
        requestTimeoutMs: opts.requestTimeoutMs,
        userAgent,
      }),
    );
  }
  const kc = loadKubeconfig({ path: opts.kubeconfig, context: opts.context });
  return createClient(
    createHttpTransport({
      url: kc.server,
      token: opts.token ?? kc.token,
      ca: kc.ca,
      cert: kc.cert,
      key: kc.key,
      insecureSkipTLSVerify: kc.insecureSkipTLSVerify,
      requestTimeoutMs: opts.requestTimeoutMs,
      userAgent,
    }),
    { defaultNamespace: kc.namespace },
  );
}

export { Backoff } from './backoff.ts';
export {
  type ClientOptions,
  createClient,
  PATCH_CONTENT_TYPES,
  resolveResource,
  resourcePath,
} from './client.ts';
export { createHttpTransport, type HttpTransportOptions } from './http-transport.ts';
export { createInProcessTransport, type InProcessTransportOptions } from './inprocess-transport.ts';
export { createInformer, NAMESPACE_INDEX, type InformerConfig, type InformerTuning } from './informer.ts';
export { InformerFactory } from './informer-factory.ts';
export {
  kubeconfigPath,
  loadKubeconfig,
  type KubeconfigCredentials,
  type LoadKubeconfigOptions,
} from './kubeconfig.ts';
export type * from './interface.ts';
