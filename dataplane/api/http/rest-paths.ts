/**
 * Path parsing for the REST tree: turns a URL path into what it addresses (a discovery document,
 * a collection, an object, a subresource) and names the verb of a request the way upstream's
 * metrics and audit do. The dispatcher routes on it; the HTTP server labels metrics with it.
 */
import { ApiError } from '../errors.ts';
import { type ResourceInfo, findResource, RESOURCES } from '../resources.ts';
import { isGoTrue } from './query-params.ts';

export type Route =
  | { kind: 'root' }
  | { kind: 'api' }
  | { kind: 'apis' }
  | { kind: 'group'; group: string }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'resource'; info: ResourceInfo; namespace?: string; name?: string; subresource?: string }
  | { kind: 'version' }
  | { kind: 'health'; check: string }
  | { kind: 'openapi'; rest: string }
  /** A name or namespace segment no object can have (`..`, an encoded `/`): 400 before any lookup. */
  | { kind: 'badSegment'; message: string }
  | { kind: 'unknown' };

const HEALTH = new Set(['healthz', 'readyz', 'livez']);

/** What a path that addresses nothing answers, in upstream's words. */
export function notFoundPath(): ApiError {
  return new ApiError('NotFound', 'the server could not find the requested resource');
}

/** The group/version pairs the server serves, '' for the core group. */
export function servedGroupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

function isServedGroup(group: string): boolean {
  return RESOURCES.some((r) => r.group === group && group !== '');
}

function isServedVersion(group: string, version: string): boolean {
  return RESOURCES.some((r) => r.group === group && r.version === version);
}

/**
 * Splits the raw path (as the client sent it, never normalised: `%2e%2e` must not climb a
 * level) on `/` first and decodes each segment after, so an encoded `/` stays inside its segment
 * where the segment check sees it.
 */
function splitPath(path: string): string[] | { bad: string } {
  const raw = path.split('/').filter((s) => s !== '');
  const out: string[] = [];
  for (const s of raw) {
    try {
      out.push(decodeURIComponent(s));
    } catch {
      return { bad: `invalid URL escape in path segment "${s}"` };
    }
  }
  return out;
}

/**
 * Upstream's rule for names and namespaces that appear in a path (IsValidPathSegmentName):
 * after decoding they may not be `.` or `..` nor contain `/` or `%`.
 */
export function pathSegmentProblems(s: string): string[] {
  if (s === '.' || s === '..') return [`may not be '${s}'`];
  const out: string[] = [];
  if (s.includes('/')) out.push("may not contain '/'");
  if (s.includes('%')) out.push("may not contain '%'");
  return out;
}

function checkSegments(r: Extract<Route, { kind: 'resource' }>): Route {
  for (const [what, value] of [
    ['Namespace', r.namespace],
    ['Name', r.name],
  ] as const) {
    const problems = value === undefined ? [] : pathSegmentProblems(value);
    if (problems.length) {
      return {
        kind: 'badSegment',
        message: `${what} parameter invalid: ${JSON.stringify(value)}: ${problems.join(';')}`,
      };
    }
  }
  return r;
}

export function parsePath(path: string): Route {
  const seg = splitPath(path);
  if (!Array.isArray(seg)) return { kind: 'badSegment', message: seg.bad };
  if (seg.length === 0) return { kind: 'root' };
  const [first, ...rest] = seg;
  if (first === 'version' && rest.length === 0) return { kind: 'version' };
  if (HEALTH.has(first)) return { kind: 'health', check: [first, ...rest].join('/') };
  if (first === 'openapi') return { kind: 'openapi', rest: rest.join('/') };
  if (first === 'api') {
    if (rest.length === 0) return { kind: 'api' };
    if (!isServedVersion('', rest[0])) return { kind: 'unknown' };
    if (rest.length === 1) return { kind: 'groupVersion', group: '', version: rest[0] };
    return resourceRoute('', rest.slice(1));
  }
  if (first === 'apis') {
    if (rest.length === 0) return { kind: 'apis' };
    const group = rest[0];
    if (!isServedGroup(group)) return { kind: 'unknown' };
    if (rest.length === 1) return { kind: 'group', group };
    if (!isServedVersion(group, rest[1])) return { kind: 'unknown' };
    if (rest.length === 2) return { kind: 'groupVersion', group, version: rest[1] };
    return resourceRoute(group, rest.slice(2));
  }
  return { kind: 'unknown' };
}

/**
 * The part after /api/v1 or /apis/{g}/{v}:
 *   {resource}[/{name}[/{sub}]]                      cluster-scoped, or namespaced across all namespaces
 *   namespaces/{ns}/{resource}[/{name}[/{sub}]]      namespaced
 *   namespaces/{name}[/status|/finalize]             the Namespace object itself
 */
function resourceRoute(group: string, seg: string[]): Route {
  if (
    seg[0] === 'namespaces' &&
    group === '' &&
    seg.length >= 3 &&
    seg[2] !== 'status' &&
    seg[2] !== 'finalize'
  ) {
    const info = findResource(group, seg[2]);
    if (!info || !info.namespaced || seg.length > 5) return { kind: 'unknown' };
    return checkSub({ kind: 'resource', info, namespace: seg[1], name: seg[3], subresource: seg[4] });
  }
  if (seg[0] === 'namespaces' && group !== '') {
    // Groups have no Namespace kind: namespaces/{ns}/... is always a namespaced resource.
    const info = seg.length >= 3 ? findResource(group, seg[2]) : undefined;
    if (!info || !info.namespaced || seg.length > 5) return { kind: 'unknown' };
    return checkSub({ kind: 'resource', info, namespace: seg[1], name: seg[3], subresource: seg[4] });
  }
  const info = findResource(group, seg[0]);
  if (!info || seg.length > 3) return { kind: 'unknown' };
  // A namespaced resource is addressed without a namespace only as a whole collection.
  if (info.namespaced && seg.length > 1) return { kind: 'unknown' };
  return checkSub({ kind: 'resource', info, name: seg[1], subresource: seg[2] });
}

function checkSub(r: Extract<Route, { kind: 'resource' }>): Route {
  if (r.subresource === undefined) return checkSegments(r);
  if (r.subresource === 'finalize' && r.info.kind === 'Namespace') return checkSegments(r);
  if (
    (r.subresource === 'status' || r.subresource === 'scale') &&
    r.info.subresources.includes(r.subresource)
  ) {
    return checkSegments(r);
  }
  return { kind: 'unknown' };
}

export function isWatchRequest(query: URLSearchParams): boolean {
  return isGoTrue(query.get('watch'));
}

/** Upstream's verb names: get, list, watch, create, update, patch, delete, deletecollection. */
export function requestVerb(method: string, route: Route, query: URLSearchParams): string {
  const m = method.toUpperCase();
  if (route.kind !== 'resource') return m === 'HEAD' ? 'get' : m.toLowerCase();
  switch (m) {
    case 'GET':
    case 'HEAD':
      if (route.name !== undefined) return 'get';
      return isWatchRequest(query) ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name !== undefined ? 'delete' : 'deletecollection';
    default:
      return m.toLowerCase();
  }
}

/** Resource label for metrics: `pods`, `deployments/scale`; empty outside the resource tree. */
export function routeResource(route: Route): string {
  if (route.kind !== 'resource') return '';
  return route.subresource ? `${route.info.resource}/${route.subresource}` : route.info.resource;
}

/** The verb label of upstream's request metrics: GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE. */
export function metricVerb(
  method: string,
  route: Route,
  query: URLSearchParams,
  contentType?: string,
): string {
  const verb = requestVerb(method, route, query);
  if (verb === 'list' || verb === 'watch') return verb.toUpperCase();
  if (verb === 'patch' && (contentType ?? '').startsWith('application/apply-patch')) return 'APPLY';
  return method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
}
