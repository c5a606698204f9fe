/**
 * The API's semantics in one transport-neutral function: routes an ApiRequest (method, path,
 * query, headers that matter, body) to discovery, health, OpenAPI or the registry, and turns every
 * outcome into an ApiResult, errors included (a Status with its HTTP code). The HTTP server and
 * the in-process client transport both call it, so they behave identically.
 *
 * Result bodies may share objects with the store: callers serialise them or clone before
 * changing anything.
 */
import { describeError } from '../../errors.ts';
import { ApiError, badRequest } from '../errors.ts';
import { applyPatch } from '../registry/patch.ts';
import type { Registry, WriteOptions } from '../registry/generic-registry.ts';
import { checkDuplicateFields } from '../schema/decode.ts';
import { apiVersionOf, type ResourceInfo } from '../resources.ts';
import type { KubeObject, Status } from '../types.ts';
import type { ApiRequest, ApiResult, WatchResult } from './dispatch-types.ts';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  rootPaths,
  verbsOf,
  versionInfo,
} from './discovery.ts';
import { serveOpenApi } from './openapi.ts';
import {
  checkObjectContentType,
  checkWriteParams,
  decodeBody,
  DEFAULT_MAX_BODY_BYTES,
  deleteOptions,
  dryRunParam,
  fieldValidationParam,
  intParam,
  patchTypeOf,
  requireBody,
} from './request-body.ts';
import { boolParam, checkReadParams } from './query-params.ts';
import { isWatchRequest, notFoundPath, parsePath, type Route } from './rest-paths.ts';
import { negotiate, renderList, renderObject, watchTransform } from './table-rendering.ts';

export interface DispatcherOptions {
  /** Default watch timeout when the client gives none (seconds); each watch gets 1-2x this, as upstream. */
  watchTimeoutSeconds?: number;
  /** Largest request body accepted, bytes; larger is 413. */
  maxBodyBytes?: number;
  /** host:port clients reach the server at, for /api's serverAddressByClientCIDRs. */
  serverAddress?: string;
}

export type Dispatcher = (req: ApiRequest) => ApiResult;

type ResourceRoute = Extract<Route, { kind: 'resource' }>;

const DEFAULT_WATCH_TIMEOUT_SECONDS = 1800;

function methodNotAllowed(): ApiError {
  return new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

function ok(body: unknown, status = 200, warnings?: string[]): ApiResult {
  return warnings?.length ? { kind: 'object', status, body, warnings } : { kind: 'object', status, body };
}

/**
 * Write options of a request: dryRun, and the decoding mode with a sink for its warnings, which
 * starts with the body's duplicate fields (400 under Strict).
 */
function writeOptions(req: ApiRequest, info: ResourceInfo): WriteOptions & { warnings: string[] } {
  const fieldValidation = fieldValidationParam(req.query);
  const warnings = checkDuplicateFields(info, req.body, fieldValidation);
  return { dryRun: dryRunParam(req.query), fieldValidation, warnings };
}

/** Any thrown value as a Status result; unexpected errors are 500 InternalError. */
export function errorResult(e: unknown): { kind: 'object'; status: number; body: Status } {
  const err =
    e instanceof ApiError ? e : new ApiError('InternalError', `Internal error occurred: ${describeError(e)}`);
  return { kind: 'object', status: err.httpCode, body: err.status };
}

export function createDispatcher(registry: Registry, opts: DispatcherOptions = {}): Dispatcher {
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const watchTimeout = opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;

  function nonResource(req: ApiRequest, route: Exclude<Route, ResourceRoute>): ApiResult {
    if (route.kind === 'unknown') throw notFoundPath();
    if (route.kind === 'badSegment') throw badRequest(route.message);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed();
    switch (route.kind) {
      case 'root':
        return ok(rootPaths());
      case 'api':
        return ok(apiVersions(opts.serverAddress));
      case 'apis':
        return ok(apiGroupList());
      case 'group':
        return ok(apiGroup(route.group));
      case 'groupVersion':
        return ok(apiResourceList(route.group, route.version));
      case 'version':
        return ok(versionInfo());
      case 'health':
        return health(route.check, req.query);
      case 'openapi':
        return serveOpenApi(route.rest, req.accept);
    }
  }

  function watch(req: ApiRequest, r: ResourceRoute): WatchResult {
    const { info, namespace } = r;
    const q = req.query;
    const labelSelector = q.get('labelSelector') ?? undefined;
    // Watching one object by its URL is watching the collection for that name.
    const fieldSelector =
      [q.get('fieldSelector'), r.name !== undefined ? `metadata.name=${r.name}` : undefined]
        .filter((s) => s)
        .join(',') || undefined;
    // Bad selectors and resourceVersions are a 400 answer, before any stream starts.
    registry.filterFor(info, labelSelector, fieldSelector);
    const resourceVersion = q.get('resourceVersion') ?? undefined;
    if (resourceVersion && !/^\d+$/.test(resourceVersion))
      throw badRequest(`invalid resource version "${resourceVersion}"`);
    const rendering = negotiate(req.accept);
    const requested = intParam(q, 'timeoutSeconds');
    return {
      kind: 'watch',
      timeoutSeconds: requested || Math.floor(watchTimeout * (1 + Math.random())),
      allowBookmarks: boolParam(q, 'allowWatchBookmarks') === true,
      start: (emit) =>
        registry.watch(info, namespace, { labelSelector, fieldSelector, resourceVersion }, emit),
      currentResourceVersion: () => String(registry.store.resourceVersion),
      objectKind: { kind: info.kind, apiVersion: apiVersionOf(info) },
      transform: watchTransform(info, rendering, q),
    };
  }

  function read(req: ApiRequest, r: ResourceRoute): ApiResult {
    const { info, namespace, name } = r;
    if (name === undefined) {
      if (isWatchRequest(req.query)) return watch(req, r);
      const rendering = negotiate(req.accept);
      const list = registry.list(info, namespace, {
        labelSelector: req.query.get('labelSelector') ?? undefined,
        fieldSelector: req.query.get('fieldSelector') ?? undefined,
        limit: intParam(req.query, 'limit'),
        continue: req.query.get('continue') ?? undefined,
      });
      return ok(renderList(list, info, rendering, req.query));
    }
    if (isWatchRequest(req.query) && r.subresource === undefined) return watch(req, r);
    if (r.subresource === 'scale') return ok(registry.getScale(info, namespace ?? '', name));
    if (r.subresource === 'finalize') throw methodNotAllowed();
    const rendering = negotiate(req.accept);
    return ok(renderObject(registry.get(info, namespace ?? '', name), info, rendering, req.query));
  }

  function create(req: ApiRequest, r: ResourceRoute): ApiResult {
    if (r.name !== undefined || (r.info.namespaced && r.namespace === undefined)) throw methodNotAllowed();
    checkObjectContentType(req.contentType);
    checkWriteParams(req.query);
    const body = requireBody(decodeBody(req.body, req.contentType, maxBody));
    const o = writeOptions(req, r.info);
    return ok(registry.create(r.info, r.namespace ?? '', body, o), 201, o.warnings);
  }

  function update(req: ApiRequest, r: ResourceRoute, name: string): ApiResult {
    checkObjectContentType(req.contentType);
    checkWriteParams(req.query);
    const body = requireBody(decodeBody(req.body, req.contentType, maxBody));
    const dryRun = dryRunParam(req.query);
    const ns = r.namespace ?? '';
    if (r.subresource === 'scale') {
      if (dryRun) throw badRequest('dryRun is not supported on the scale subresource');
      return ok(registry.updateScale(r.info, ns, name, body));
    }
    if (r.subresource === 'finalize') return ok(finalize(r.info, name, body, dryRun));
    const sub = r.subresource === 'status' ? 'status' : undefined;
    const o = writeOptions(req, r.info);
    return ok(registry.update(r.info, ns, name, body, sub, o), 200, o.warnings);
  }

  /** PUT namespaces/{name}/finalize: replaces spec.finalizers and nothing else. */
  function finalize(info: ResourceInfo, name: string, body: unknown, dryRun: boolean): KubeObject {
    const cur = registry.get(info, '', name);
    const given = body as { spec?: { finalizers?: unknown }; metadata?: { resourceVersion?: string } };
    const finalizers = given?.spec?.finalizers ?? [];
    if (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string')) {
      throw badRequest('spec.finalizers must be a list of strings');
    }
    const next = structuredClone(cur) as KubeObject & { spec?: Record<string, unknown> };
    next.spec = { ...(next.spec ?? {}), finalizers };
    next.metadata.resourceVersion = given?.metadata?.resourceVersion || cur.metadata.resourceVersion;
    return registry.update(info, '', name, next, undefined, { dryRun });
  }

  function patch(req: ApiRequest, r: ResourceRoute, name: string): ApiResult {
    if (r.subresource === 'finalize') throw methodNotAllowed();
    const type = patchTypeOf(req.contentType);
    checkWriteParams(req.query);
    const body = requireBody(decodeBody(req.body, req.contentType, maxBody));
    const dryRun = dryRunParam(req.query);
    const ns = r.namespace ?? '';
    if (type === 'apply' && !req.query.get('fieldManager')) {
      throw badRequest('PATCH requests with the apply content type must have a fieldManager query parameter');
    }
    if (r.subresource === 'scale') {
      if (dryRun) throw badRequest('dryRun is not supported on the scale subresource');
      return ok(registry.updateScale(r.info, ns, name, body, type));
    }
    const sub = r.subresource === 'status' ? 'status' : undefined;
    if (type === 'apply' && sub === undefined && !exists(r.info, ns, name)) {
      // Server-side apply of an object that does not exist yet creates it: the patch applied to
      // an empty object is what to create (the patch module refuses apply while kdp lacks it).
      const empty = { apiVersion: apiVersionOf(r.info), kind: r.info.kind, metadata: { name } };
      const o = writeOptions(req, r.info);
      return ok(
        registry.create(r.info, ns, applyPatch('apply', empty, body, r.info.kind), o),
        201,
        o.warnings,
      );
    }
    const o = writeOptions(req, r.info);
    return ok(registry.patch(r.info, ns, name, type, body, sub, o), 200, o.warnings);
  }

  function exists(info: ResourceInfo, ns: string, name: string): boolean {
    try {
      registry.get(info, ns, name);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'NotFound') return false;
      throw e;
    }
  }

  function remove(req: ApiRequest, r: ResourceRoute): ApiResult {
    if (r.subresource !== undefined) throw methodNotAllowed();
    const body = decodeBody(req.body, req.contentType, maxBody);
    const opts = deleteOptions(body, req.query);
    if (r.name !== undefined) return ok(registry.delete(r.info, r.namespace ?? '', r.name, opts));
    if (!verbsOf(r.info).includes('deletecollection') || (r.info.namespaced && r.namespace === undefined)) {
      throw methodNotAllowed();
    }
    return ok(
      registry.deleteCollection(r.info, r.namespace, {
        ...opts,
        labelSelector: req.query.get('labelSelector') ?? undefined,
        fieldSelector: req.query.get('fieldSelector') ?? undefined,
      }),
    );
  }

  function resource(req: ApiRequest, r: ResourceRoute): ApiResult {
    switch (req.method) {
      case 'GET':
      case 'HEAD':
        checkReadParams(req.query);
        return read(req, r);
      case 'POST':
        return create(req, r);
      case 'PUT':
        if (r.name === undefined) throw methodNotAllowed();
        return update(req, r, r.name);
      case 'PATCH':
        if (r.name === undefined) throw methodNotAllowed();
        return patch(req, r, r.name);
      case 'DELETE':
        return remove(req, r);
      default:
        throw methodNotAllowed();
    }
  }

  return (req) => {
    try {
      const route = parsePath(req.path);
      if (route.kind === 'resource') {
        if (route.subresource === 'finalize' && req.method !== 'PUT') throw methodNotAllowed();
        return resource(req, route);
      }
      return nonResource(req, route);
    } catch (e) {
      return errorResult(e);
    }
  };
}

const HEALTH_CHECKS = ['ping', 'log', 'store'];

/** /healthz, /readyz, /livez and their named checks: the process answers, so all are ok. */
function health(check: string, query: URLSearchParams): ApiResult {
  const [name, sub] = check.split('/', 2);
  if (check.split('/').length > 2 || (sub !== undefined && !HEALTH_CHECKS.includes(sub)))
    throw notFoundPath();
  let body = 'ok';
  if (sub === undefined && query.has('verbose')) {
    body = `${HEALTH_CHECKS.map((c) => `[+]${c} ok`).join('\n')}\n${name} check passed\n`;
  }
  return { kind: 'text', status: 200, body, contentType: 'text/plain; charset=utf-8' };
}
