/**
 * A dispatcher over a real Registry (kdp's strategies and allocators, an in-memory Store) and a
 * `call` helper that speaks to it the way the HTTP server does (bytes in, results out), for the
 * dispatch tests. No sockets.
 */
import assert from 'node:assert/strict';
import { createAllocators } from '../../../dataplane/api/allocators/index.ts';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
} from '../../../dataplane/api/http/dispatch.ts';
import type { ApiRequest, ApiResult, WatchResult } from '../../../dataplane/api/http/dispatch-types.ts';
import { findResource } from '../../../dataplane/api/resources.ts';
import { Registry } from '../../../dataplane/api/registry/generic-registry.ts';
import { createStrategies } from '../../../dataplane/api/registry/strategies/index.ts';
import { Store } from '../../../dataplane/api/store/store.ts';
import type { KubeObject, WatchEvent } from '../../../dataplane/api/types.ts';

export interface Fixture {
  dispatch: Dispatcher;
  store: Store;
  registry: Registry;
}

export function newFixture(opts: DispatcherOptions & { windowSize?: number } = {}): Fixture {
  const store = new Store({ windowSize: opts.windowSize });
  const allocators = createAllocators({
    serviceCIDR: '10.96.0.0/16',
    nodePortRange: { first: 30000, last: 32767 },
  });
  const registry = new Registry(store, createStrategies(), allocators);
  registry.create(findResource('', 'namespaces')!, '', { metadata: { name: 'default' } });
  return { dispatch: createDispatcher(registry, opts), store, registry };
}

export interface CallOptions {
  query?: Record<string, string>;
  body?: unknown;
  /** Sent as bytes, as HTTP would; objects are JSON-encoded unless `raw` is a string or Buffer. */
  raw?: string | Buffer;
  contentType?: string;
  accept?: string;
}

export function call(f: Fixture, method: ApiRequest['method'], path: string, o: CallOptions = {}): ApiResult {
  let body: Buffer | undefined;
  if (o.raw !== undefined) body = Buffer.isBuffer(o.raw) ? o.raw : Buffer.from(o.raw);
  else if (o.body !== undefined) body = Buffer.from(JSON.stringify(o.body));
  return f.dispatch({
    method,
    path,
    query: new URLSearchParams(o.query ?? {}),
    contentType: o.contentType ?? (body ? 'application/json' : undefined),
    accept: o.accept,
    body,
  });
}

/** The body of an object result with the expected status. */
export function expectObject<T = any>(r: ApiResult, status = 200): T {
  assert.equal(r.kind, 'object', `expected an object result, got ${r.kind}`);
  const res = r as { status: number; body: any };
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body as T;
}

/** The Status of an error result, checked for code and reason. */
export function expectStatus(r: ApiResult, code: number, reason?: string): any {
  const body = expectObject(r, code);
  assert.equal(body.kind, 'Status');
  assert.equal(body.status, 'Failure');
  assert.equal(body.code, code);
  if (reason) assert.equal(body.reason, reason, body.message);
  return body;
}

export function expectWatch(r: ApiResult): WatchResult {
  if (r.kind !== 'watch') assert.fail(`expected a watch, got ${JSON.stringify(r)}`);
  return r;
}

/** Starts a watch and collects its events (transformed as the server would send them). */
export function collect(w: WatchResult): { events: WatchEvent[]; stop: () => void } {
  const events: WatchEvent[] = [];
  const stop = w.start((ev) => events.push(w.transform ? w.transform(ev) : ev));
  return { events, stop };
}

export function service(
  name: string,
  labels: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...extra },
  };
}

export function deployment(name: string, replicas = 2): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  };
}

export function pod(
  name: string,
  extra: { nodeName?: string; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: extra.labels ?? {} },
    spec: {
      containers: [{ name: 'c', image: 'busybox' }],
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
    },
  };
}

export const SVC_PATH = '/api/v1/namespaces/default/services';
export const DEPLOY_PATH = '/apis/apps/v1/namespaces/default/deployments';
export const POD_PATH = '/api/v1/namespaces/default/pods';
