/**
 * The generic registry: what every REST verb does to any kind, the same way for HTTP requests and
 * in-process callers. It owns the lifecycle rules upstream's generic registry has (metadata
 * filled on create, immutable fields kept on update, optimistic concurrency, generation bumps,
 * status subresources, finalizers, graceful pod deletion, label/field selectors, pagination,
 * selector-aware watches) and delegates per-kind rules to strategies. The delete lifecycle's rules
 * are in deletion.ts, the scale subresource in scale.ts, the body checks in request-checks.ts,
 * selectors and what a selective watch sees in selector-filter.ts.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, badRequest, invalid, notFound } from '../errors.ts';
import { type ResourceInfo, apiVersionOf, findResource, groupResource } from '../resources.ts';
import type { Store, StoreEvent } from '../store/store.ts';
import type { KubeList, KubeObject, StatusCause, WatchEvent } from '../types.ts';
import type { Allocators } from './allocators-interface.ts';
import { deepEqual } from '../json-values.ts';
import { decodeFields, type FieldValidation } from '../schema/decode.ts';
import { validateObjectMeta } from './meta-validation.ts';
import { applyPatch, type PatchType } from './patch.ts';
import type { Strategy, StrategyContext } from './strategy.ts';
import {
  checkPreconditions,
  type DeletionOptions,
  gracePeriod,
  markedForDeletion,
  orphanDependents,
} from './deletion.ts';
import {
  decodeContinue,
  encodeContinue,
  pendingFinalizers,
  randomSuffix,
  rename,
  specOf,
} from './registry-helpers.ts';
import { checkBody, checkCreateNamespace } from './request-checks.ts';
import { scaledWorkload, toScale } from './scale.ts';
import { compileSelectors, filteredWatchEvent, type ObjectFilter } from './selector-filter.ts';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Start point; undefined or '0' sends the current objects as ADDED first, as upstream. */
  resourceVersion?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  /**
   * Decode the body on the kind's schema as upstream does (HTTP requests set it): wrong types are
   * 400, unknown fields as this says. Unset for in-process callers that build objects in code.
   */
  fieldValidation?: FieldValidation;
  /** Where Warn puts its `unknown field` warnings for the response. */
  warnings?: string[];
}

export type DeleteOptions = WriteOptions & DeletionOptions;

export type Subresource = 'status' | 'scale' | undefined;

export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function clone<T>(o: T): T {
  return structuredClone(o);
}

export class Registry {
  private readonly ctx: StrategyContext;

  constructor(
    readonly store: Store,
    private readonly strategies: Record<string, Strategy>,
    readonly allocators: Allocators,
  ) {
    this.ctx = { allocators, get: (gr, ns, name) => store.get(gr, ns, name) };
  }

  private strategy(info: ResourceInfo): Strategy {
    return this.strategies[groupResource(info)] ?? { validate: () => [] };
  }

  // ---- reads ----

  get(info: ResourceInfo, namespace: string, name: string): KubeObject {
    const o = this.store.get(groupResource(info), info.namespaced ? namespace : '', name);
    if (!o) throw notFound(info.resource, name, info.group);
    return o;
  }

  list(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): KubeList {
    const filter = this.filterFor(info, opts.labelSelector, opts.fieldSelector);
    let after: string | undefined;
    if (opts.continue) after = decodeContinue(opts.continue);
    const page = this.store.list(groupResource(info), {
      namespace: info.namespaced ? namespace : undefined,
      filter,
      limit: opts.limit,
      after,
    });
    const metadata: KubeList['metadata'] = { resourceVersion: String(page.rv) };
    if (page.nextKey !== undefined) {
      metadata.continue = encodeContinue(page.nextKey, page.rv);
      metadata.remainingItemCount = page.remaining;
    }
    return { apiVersion: apiVersionOf(info), kind: `${info.kind}List`, metadata, items: page.items };
  }

  /** Compiles selectors into a predicate; malformed selectors are 400 BadRequest. */
  filterFor(info: ResourceInfo, labelSelector?: string, fieldSelector?: string): ObjectFilter | undefined {
    return compileSelectors(info, labelSelector, fieldSelector);
  }

  /**
   * Starts a watch; `emit` is called synchronously from inside the store's write path, so it must
   * only queue or write out, never call back into the registry. Returns the function that stops it.
   */
  watch(
    info: ResourceInfo,
    namespace: string | undefined,
    opts: WatchOptions,
    emit: (ev: WatchEvent) => void,
  ): () => void {
    const filter = this.filterFor(info, opts.labelSelector, opts.fieldSelector);
    const gr = groupResource(info);
    const ns = info.namespaced ? namespace : undefined;
    let fromRV: number | undefined;
    const rvParam = opts.resourceVersion;
    if (rvParam !== undefined && rvParam !== '' && rvParam !== '0') {
      if (!/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version "${rvParam}"`);
      fromRV = Number(rvParam);
    } else {
      for (const o of this.store.list(gr, { namespace: ns, filter }).items)
        emit({ type: 'ADDED', object: o });
    }
    return this.store.watch(
      {
        gr,
        namespace: ns,
        send: (ev: StoreEvent) => {
          const out = filteredWatchEvent(filter, ev);
          if (out) emit(out);
        },
        // The store drops a watcher whose filtering threw; its client hears why and relists.
        failed: (e: unknown) => {
          const err =
            e instanceof ApiError
              ? e
              : new ApiError('InternalError', `Internal error occurred: ${String(e)}`);
          emit({ type: 'ERROR', object: err.status as unknown as KubeObject });
        },
      },
      fromRV,
    );
  }

  // ---- writes ----

  create(info: ResourceInfo, namespace: string, body: unknown, opts: WriteOptions = {}): KubeObject {
    const obj = this.decode(info, checkBody(info, body), opts);
    const ns = checkCreateNamespace(this.store, info, namespace, obj);
    const meta = obj.metadata;
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) {
      meta.name = meta.generateName + randomSuffix();
    }
    if (info.namespaced) meta.namespace = ns;
    else delete meta.namespace;
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    const s = this.strategy(info);
    if (s.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    s.default?.(obj);
    const metaCauses = validateObjectMeta(info, obj);
    if (metaCauses.length)
      throw invalid(info.kind, meta.name ?? meta.generateName ?? '', metaCauses, info.group);
    s.prepareForCreate?.(obj, this.ctx);
    try {
      const causes = s.validate(obj, this.ctx);
      if (causes.length) throw invalid(info.kind, meta.name!, causes, info.group);
      if (opts.dryRun) {
        s.rollbackCreate?.(obj, this.ctx);
        return obj;
      }
      return this.store.create(groupResource(info), obj);
    } catch (e) {
      s.rollbackCreate?.(obj, this.ctx);
      throw rename(e, info);
    }
  }

  update(
    info: ResourceInfo,
    namespace: string,
    name: string,
    body: unknown,
    subresource?: Subresource,
    opts: WriteOptions = {},
  ): KubeObject {
    const obj = this.decode(info, checkBody(info, body), opts);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    const ns = info.namespaced ? namespace : '';
    if (info.namespaced && obj.metadata.namespace !== undefined && obj.metadata.namespace !== ns) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const old = this.get(info, ns, name);
    return this.applyUpdate(info, old, obj, subresource, opts);
  }

  patch(
    info: ResourceInfo,
    namespace: string,
    name: string,
    patchType: PatchType,
    patchBody: unknown,
    subresource?: Subresource,
    opts: WriteOptions = {},
  ): KubeObject {
    const old = this.get(info, info.namespaced ? namespace : '', name);
    let patched: KubeObject;
    try {
      patched = applyPatch(patchType, clone(old), patchBody, info.kind) as KubeObject;
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw badRequest(`unable to apply patch: ${(e as Error).message}`);
    }
    if (!patched || typeof patched !== 'object' || !patched.metadata)
      throw badRequest('patch removed metadata');
    if (patched.metadata.name !== name) throw badRequest('the patch may not change metadata.name');
    return this.applyUpdate(info, old, this.decode(info, checkBody(info, patched), opts), subresource, opts);
  }

  private applyUpdate(
    info: ResourceInfo,
    old: KubeObject,
    obj: KubeObject,
    subresource: Subresource,
    opts: WriteOptions,
  ): KubeObject {
    const s = this.strategy(info);
    const statusFields = s.statusFields ?? ['status'];
    const expectedRV = obj.metadata.resourceVersion;
    let next: KubeObject;
    if (subresource === 'status') {
      // A status update changes the status and nothing else.
      next = clone(old);
      for (const f of statusFields) {
        if (obj[f] === undefined) delete next[f];
        else next[f] = obj[f];
      }
    } else {
      next = obj;
      const m = next.metadata;
      m.uid = old.metadata.uid;
      m.creationTimestamp = old.metadata.creationTimestamp;
      m.namespace = old.metadata.namespace;
      if (old.metadata.deletionTimestamp) m.deletionTimestamp = old.metadata.deletionTimestamp;
      else delete m.deletionTimestamp;
      if (old.metadata.deletionGracePeriodSeconds !== undefined) {
        m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      } else delete m.deletionGracePeriodSeconds;
      if (info.subresources.includes('status')) {
        for (const f of statusFields) {
          if (old[f] === undefined) delete next[f];
          else next[f] = clone(old[f]);
        }
      }
      if (!s.hasGeneration) delete m.generation;
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    s.default?.(next);
    // After defaulting, and blind to key order: a client that leaves defaults out changes no spec.
    if (subresource !== 'status' && s.hasGeneration) {
      next.metadata.generation = old.metadata.generation ?? 1;
      if (!deepEqual(specOf(next, statusFields), specOf(old, statusFields))) next.metadata.generation++;
    }
    const metaCauses = validateObjectMeta(info, next);
    if (metaCauses.length) throw invalid(info.kind, old.metadata.name!, metaCauses, info.group);
    if (subresource !== 'status') s.prepareForUpdate?.(next, old, this.ctx);
    let stored: KubeObject;
    try {
      const causes: StatusCause[] = [
        ...s.validate(next, this.ctx),
        ...(s.validateUpdate?.(next, old, this.ctx) ?? []),
      ];
      if (causes.length) throw invalid(info.kind, old.metadata.name!, causes, info.group);
      if (opts.dryRun) {
        if (subresource !== 'status') s.rollbackUpdate?.(next, old, this.ctx);
        return next;
      }
      delete next.metadata.resourceVersion;
      stored = this.store.update(groupResource(info), next, expectedRV);
    } catch (e) {
      if (subresource !== 'status') s.rollbackUpdate?.(next, old, this.ctx);
      throw rename(e, info);
    }
    if (subresource !== 'status') s.afterUpdate?.(stored, old, this.ctx);
    if (stored.metadata.deletionTimestamp && !pendingFinalizers(info, stored)) {
      return this.remove(info, stored);
    }
    return stored;
  }

  delete(info: ResourceInfo, namespace: string, name: string, opts: DeleteOptions = {}): KubeObject {
    const ns = info.namespaced ? namespace : '';
    const cur = this.get(info, ns, name);
    checkPreconditions(info, cur, opts.preconditions);
    if (opts.dryRun) return cur;
    if (opts.propagationPolicy === 'Orphan') orphanDependents(this.store, cur);
    const grace = gracePeriod(info, cur, opts.gracePeriodSeconds);
    if (grace > 0 || pendingFinalizers(info, cur)) {
      // Graceful: mark it; the kubelet (pods) or the finalizer's owner removes it later.
      return this.store.update(groupResource(info), markedForDeletion(info, cur, grace));
    }
    return this.remove(info, cur);
  }

  deleteCollection(
    info: ResourceInfo,
    namespace: string | undefined,
    opts: ListOptions & DeleteOptions,
  ): KubeList {
    const items = this.list(info, namespace, {
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
    });
    const deleted: KubeObject[] = [];
    for (const o of items.items) {
      try {
        deleted.push(this.delete(info, o.metadata.namespace ?? '', o.metadata.name!, opts));
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'NotFound')) throw e;
      }
    }
    return { ...items, items: deleted };
  }

  private remove(info: ResourceInfo, cur: KubeObject): KubeObject {
    const last = this.store.delete(groupResource(info), cur.metadata.namespace ?? '', cur.metadata.name!, {
      uid: cur.metadata.uid,
    });
    this.strategy(info).afterDelete?.(last, this.ctx);
    return last;
  }

  // ---- scale subresource (apps/v1 Deployment and ReplicaSet) ----

  getScale(info: ResourceInfo, namespace: string, name: string): KubeObject {
    return toScale(this.get(info, namespace, name));
  }

  updateScale(
    info: ResourceInfo,
    namespace: string,
    name: string,
    body: unknown,
    patchType?: PatchType,
  ): KubeObject {
    const cur = this.get(info, namespace, name);
    return toScale(this.applyUpdate(info, cur, scaledWorkload(cur, body, patchType), undefined, {}));
  }

  // ---- helpers ----

  /** Applies the kind's schema when the caller asked for decoding (see WriteOptions). */
  private decode(info: ResourceInfo, obj: KubeObject, opts: WriteOptions): KubeObject {
    if (opts.fieldValidation) opts.warnings?.push(...decodeFields(info, obj, opts.fieldValidation));
    return obj;
  }
}

export { findResource };
