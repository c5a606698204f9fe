/**
 * The apiserver's listeners as node:http sees them: the connection and request-time limits every
 * listener has, TLS that asks for (but does not require) a client certificate, waiting for a
 * listener to be up, and the unix socket's stale-file check.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect } from 'node:net';
import { KdpError } from '../../errors.ts';

/**
 * What one client can hold of a listener. A request's time limit covers receiving it (headers
 * and body), not the answer, so long watch streams are not cut. Node checks the times every
 * `checkIntervalMs`, so a slow request is cut at most that long after its limit.
 */
export interface HttpLimits {
  /** Time to receive a request's headers (upstream's ReadHeaderTimeout is 32 s). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included (upstream's --request-timeout is 60 s). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (upstream keeps them 90 s). */
  keepAliveTimeoutMs: number;
  /** Open connections per listener; more are closed as they arrive. */
  maxConnections: number;
  checkIntervalMs: number;
}

export const HTTP_LIMIT_DEFAULTS: HttpLimits = {
  headersTimeoutMs: 32_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 4096,
  checkIntervalMs: 5_000,
};

/** TLS material of a TCP listener (PEM): serving certificate and key, and the CA that client
 * certificates must chain to. */
export interface ListenerTls {
  cert: string;
  key: string;
  clientCA: string;
}

/** A node:http (or, with `tls`, node:https) server with `limits` applied, not yet listening. */
export function createListener(
  limits: HttpLimits,
  tls: ListenerTls | undefined,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const options = {
    keepAlive: true,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  };
  // A client certificate is asked for but not required: the handshake completes either way and
  // authentication decides (a bearer token is as good; the open health paths need neither).
  const server: Server = tls
    ? createTlsServer(
        {
          ...options,
          cert: tls.cert,
          key: tls.key,
          ca: tls.clientCA,
          requestCert: true,
          rejectUnauthorized: false,
        },
        handler,
      )
    : createServer(options, handler);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return server;
}

export function listenOn(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve();
    });
    start();
  });
}

/** Removes a socket file nobody listens on; refuses when another server answers on it. */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // no file: nothing to remove
  }
  if (!isSocket) {
    throw new KdpError(
      'KDP_ERR_APISERVER_SOCKET',
      `${path} exists and is not a socket: remove it or choose another --socket path`,
    );
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) {
    throw new KdpError(
      'KDP_ERR_APISERVER_SOCKET',
      `another server is listening on ${path}: stop it or choose another --socket path`,
    );
  }
  unlinkSync(path);
}
