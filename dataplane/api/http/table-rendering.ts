/**
 * Server-side printing: when a client's Accept header asks for `as=Table` (kubectl get does) the
 * server answers with a meta.k8s.io Table of the kind's columns instead of the objects, and
 * watches send one-row Tables; `as=PartialObjectMetadata[List]` answers metadata only. This file
 * negotiates the rendering from the Accept header and builds those documents.
 */
import { ApiError, badRequest } from '../errors.ts';
import type { ResourceInfo } from '../resources.ts';
import type { KubeList, KubeObject, ListMeta, WatchEvent } from '../types.ts';
import { deployments, events, replicasets } from './table-columns-apps.ts';
import {
  col,
  endpoints,
  endpointslices,
  type KindPrinter,
  NAME,
  namespaces,
  nodes,
  pods,
  services,
} from './table-columns.ts';

export type Rendering =
  | { as: 'object' }
  | { as: 'Table'; apiVersion: string }
  | { as: 'PartialObjectMetadata'; apiVersion: string };

type IncludeObject = 'None' | 'Metadata' | 'Object';

/** For kinds without a printer: upstream's default table (name and creation time). */
const DEFAULT_PRINTER: KindPrinter = {
  columns: [NAME, col('Created At', 'When the object was created.', { type: 'date' })],
  cells: (obj) => [obj.metadata.name, obj.metadata.creationTimestamp ?? ''],
};

const PRINTERS: Record<string, KindPrinter> = {
  Pod: pods,
  Service: services,
  Node: nodes,
  Namespace: namespaces,
  Endpoints: endpoints,
  EndpointSlice: endpointslices,
  Deployment: deployments,
  ReplicaSet: replicasets,
  Event: events,
};

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string): MediaRange[] {
  return accept
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [type, ...rest] = part.split(';').map((s) => s.trim());
      // Header parameters are client-chosen keys: a null prototype keeps `__proto__` plain data.
      const params: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params };
    });
}

const JSONISH = new Set(['application/json', 'application/*', '*/*']);

/**
 * Picks the first media range of the Accept header that kdp can produce. Only JSON is spoken;
 * an Accept that allows nothing kdp can produce (protobuf alone, say) is 406.
 */
export function negotiate(accept: string | undefined): Rendering {
  if (!accept || accept.trim() === '') return { as: 'object' };
  for (const m of parseAccept(accept)) {
    if (!JSONISH.has(m.type)) continue;
    const as = m.params.as;
    if (as === undefined) return { as: 'object' };
    if (m.params.g !== 'meta.k8s.io' || (m.params.v !== 'v1' && m.params.v !== 'v1beta1')) continue;
    const apiVersion = `meta.k8s.io/${m.params.v}`;
    if (as === 'Table') return { as: 'Table', apiVersion };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
      return { as: 'PartialObjectMetadata', apiVersion };
    }
  }
  throw new ApiError(
    'NotAcceptable',
    `only the following media types are accepted: application/json (accept: ${accept})`,
  );
}

export function includeObjectParam(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`includeObject must be one of None, Metadata or Object, not "${v}"`);
}

function partial(o: KubeObject, apiVersion: string): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: o.metadata };
}

function row(o: KubeObject, info: ResourceInfo, include: IncludeObject, apiVersion: string, now: number) {
  const cells = (PRINTERS[info.kind] ?? DEFAULT_PRINTER).cells(o, now);
  if (include === 'None') return { cells };
  return { cells, object: include === 'Object' ? o : partial(o, apiVersion) };
}

function table(
  items: KubeObject[],
  info: ResourceInfo,
  apiVersion: string,
  include: IncludeObject,
  metadata: ListMeta,
  withColumns = true,
): unknown {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion,
    metadata,
    columnDefinitions: withColumns ? (PRINTERS[info.kind] ?? DEFAULT_PRINTER).columns : [],
    rows: items.map((o) => row(o, info, include, apiVersion, now)),
  };
}

/** Renders a list (or one object, as a one-row table) the way the client asked. */
export function renderList(
  list: KubeList,
  info: ResourceInfo,
  r: Rendering,
  query: URLSearchParams,
): unknown {
  if (r.as === 'Table')
    return table(list.items, info, r.apiVersion, includeObjectParam(query), list.metadata);
  if (r.as === 'PartialObjectMetadata') {
    return {
      kind: 'PartialObjectMetadataList',
      apiVersion: r.apiVersion,
      metadata: list.metadata,
      items: list.items.map((o) => partial(o, r.apiVersion)),
    };
  }
  return list;
}

export function renderObject(
  obj: KubeObject,
  info: ResourceInfo,
  r: Rendering,
  query: URLSearchParams,
): unknown {
  if (r.as === 'Table') {
    const meta = { resourceVersion: obj.metadata.resourceVersion };
    return table([obj], info, r.apiVersion, includeObjectParam(query), meta);
  }
  if (r.as === 'PartialObjectMetadata') return partial(obj, r.apiVersion);
  return obj;
}

/**
 * The per-event transform of a watch: each change becomes a one-row Table (column definitions in
 * the first only, as upstream saves bandwidth) or a PartialObjectMetadata. Bookmarks and errors
 * pass through unchanged.
 */
export function watchTransform(
  info: ResourceInfo,
  r: Rendering,
  query: URLSearchParams,
): ((ev: WatchEvent) => WatchEvent) | undefined {
  if (r.as === 'object') return undefined;
  const include = includeObjectParam(query);
  let first = true;
  return (ev) => {
    if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') return ev;
    if (r.as === 'PartialObjectMetadata') return { type: ev.type, object: partial(ev.object, r.apiVersion) };
    const meta = { resourceVersion: ev.object.metadata.resourceVersion };
    const object = table([ev.object], info, r.apiVersion, include, meta, first) as KubeObject;
    first = false;
    return { type: ev.type, object };
  };
}
