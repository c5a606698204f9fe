/**
 * The typed client: turns "get service web in default" into the REST path and verb the apiserver
 * expects, over whichever Transport it is given. Paths come from the resource table, so a kind
 * added there is reachable here without code.
 */
import { isApiError } from '../api/errors.ts';
import { findResource, findResourceByName, type ResourceInfo } from '../api/resources.ts';
import type { KubeList, KubeObject, WatchEvent } from '../api/types.ts';
import { KdpError } from '../errors.ts';
import type {
  ApiClient,
  DeleteOpts,
  ListOpts,
  PatchKind,
  ResourceClient,
  Transport,
  TransportRequest,
  WatchOpts,
} from './interface.ts';

export const PATCH_CONTENT_TYPES: Record<PatchKind, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/** The Content-Type a request body goes with: the caller's, else merge patch for PATCH, else JSON. */
export function contentTypeFor(req: TransportRequest): string | undefined {
  if (req.body === undefined) return undefined;
  return req.contentType ?? (req.method === 'PATCH' ? PATCH_CONTENT_TYPES.merge : 'application/json');
}

export interface ClientOptions {
  /** Namespace for namespaced calls that name none (a kubeconfig context's); default 'default'. */
  defaultNamespace?: string;
}

export function createClient(transport: Transport, opts: ClientOptions = {}): ApiClient {
  const defaultNamespace = opts.defaultNamespace ?? 'default';
  const clients = new Map<ResourceInfo, ResourceClient>();
  return {
    resource<T extends KubeObject = KubeObject>(which: ResourceInfo | string): ResourceClient<T> {
      const info = typeof which === 'string' ? resolveResource(which) : which;
      let rc = clients.get(info);
      if (!rc) {
        rc = resourceClient(transport, info, defaultNamespace);
        clients.set(info, rc);
      }
      return rc as unknown as ResourceClient<T>;
    },
    raw: (req) => transport.request(req),
    close: () => transport.close(),
  };
}

/** `services`, `svc`, `Service`, `apps/deployments` or `deployments.apps`. */
export function resolveResource(name: string): ResourceInfo {
  const slash = name.indexOf('/');
  const dot = name.indexOf('.');
  const info =
    slash >= 0
      ? findResource(name.slice(0, slash), name.slice(slash + 1))
      : dot >= 0
        ? findResource(name.slice(dot + 1), name.slice(0, dot))
        : findResourceByName(name);
  if (!info) {
    throw new KdpError('KDP_ERR_API_UNKNOWN_RESOURCE', `the server doesn't have a resource type "${name}"`);
  }
  return info;
}

/**
 * The REST path of a resource: /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{sub}]] for the core
 * group, /apis/{group}/{version}/... for the others. `namespace` undefined means all namespaces.
 */
export function resourcePath(
  info: ResourceInfo,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let p = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  if (info.namespaced && namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${info.resource}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}

function resourceClient<T extends KubeObject>(
  transport: Transport,
  info: ResourceInfo,
  defaultNamespace: string,
): ResourceClient<T> {
  const nsFor = (namespace: string | undefined, obj?: KubeObject): string | undefined =>
    info.namespaced ? (namespace ?? obj?.metadata.namespace ?? defaultNamespace) : undefined;
  const nameOf = (obj: KubeObject, verb: string): string => {
    const name = obj.metadata?.name;
    if (!name) {
      throw new KdpError(
        'KDP_ERR_INVALID_ARGUMENT',
        `${verb} ${info.resource}: the object has no metadata.name`,
      );
    }
    return name;
  };
  const req = (r: TransportRequest) => transport.request(r);

  const client: ResourceClient<T> = {
    info,

    async list(opts: ListOpts = {}) {
      return (await req({
        method: 'GET',
        path: resourcePath(info, info.namespaced ? opts.namespace : undefined),
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.limit,
          continue: opts.continue,
        },
        signal: opts.signal,
      })) as KubeList<T>;
    },

    async listAll(opts = {}) {
      // The first page's resourceVersion is the one to watch from: later pages may be newer, and
      // a watch from the oldest point replays what changed in between rather than missing it.
      const first = await client.list(opts);
      const items = [...first.items];
      let cont = first.metadata.continue;
      while (cont) {
        const page = await client.list({ ...opts, continue: cont });
        items.push(...page.items);
        cont = page.metadata.continue;
      }
      return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
    },

    async get(name, namespace) {
      return (await req({ method: 'GET', path: resourcePath(info, nsFor(namespace), name) })) as T;
    },

    async tryGet(name, namespace) {
      try {
        return await client.get(name, namespace);
      } catch (err) {
        if (isApiError(err, 'NotFound')) return undefined;
        throw err;
      }
    },

    async create(obj, opts = {}) {
      return (await req({
        method: 'POST',
        path: resourcePath(info, nsFor(opts.namespace, obj)),
        query: { dryRun: opts.dryRun ? 'All' : undefined },
        body: obj,
      })) as T;
    },

    async update(obj) {
      return (await req({
        method: 'PUT',
        path: resourcePath(info, nsFor(undefined, obj), nameOf(obj, 'update')),
        body: obj,
      })) as T;
    },

    async updateStatus(obj) {
      const path = resourcePath(info, nsFor(undefined, obj), nameOf(obj, 'updateStatus'), 'status');
      return (await req({ method: 'PUT', path, body: obj })) as T;
    },

    async patch(name, patch, opts = {}) {
      return (await req({
        method: 'PATCH',
        path: resourcePath(info, nsFor(opts.namespace), name, opts.subresource),
        body: patch,
        contentType: PATCH_CONTENT_TYPES[opts.type ?? 'merge'],
      })) as T;
    },

    async delete(name, opts: DeleteOpts = {}) {
      const { namespace, signal, ...rest } = opts;
      const hasOptions = Object.values(rest).some((v) => v !== undefined);
      const res = (await req({
        method: 'DELETE',
        path: resourcePath(info, nsFor(namespace), name),
        body: hasOptions ? { apiVersion: 'v1', kind: 'DeleteOptions', ...rest } : undefined,
        signal,
      })) as KubeObject | undefined;
      // Some deletes answer with a Status (the object is gone) rather than the object.
      return res && res.kind !== 'Status' ? (res as T) : undefined;
    },

    watch(opts: WatchOpts, onEvent: (ev: WatchEvent<T>) => void) {
      return transport.watch(
        {
          method: 'GET',
          path: resourcePath(info, info.namespaced ? opts.namespace : undefined),
          query: {
            watch: 'true',
            resourceVersion: opts.resourceVersion,
            allowWatchBookmarks: opts.allowWatchBookmarks,
            timeoutSeconds: opts.timeoutSeconds,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
          },
          signal: opts.signal,
        },
        onEvent as (ev: WatchEvent) => void,
      );
    },
  };
  return client;
}
