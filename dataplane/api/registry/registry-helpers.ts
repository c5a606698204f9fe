/**
 * The registry's free helpers: generated-name suffixes, what counts as a spec change, pending
 * finalizers, upstream's wording of errors, the autoscaling/v1 Scale view of a workload, and
 * list continue tokens. Kept apart so generic-registry.ts holds only the verbs.
 */
import { randomBytes } from 'node:crypto';
import { ApiError, badRequest } from '../errors.ts';
import { type ResourceInfo, groupResource } from '../resources.ts';
import type { KubeObject } from '../types.ts';

const NAME_SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(): string {
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += NAME_SUFFIX_CHARS[b % NAME_SUFFIX_CHARS.length];
  return s;
}

/** Everything but metadata and status: a change in it bumps generation. */
export function specOf(o: KubeObject, statusFields: string[]): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...o };
  delete rest.metadata;
  for (const f of statusFields) delete rest[f];
  return rest;
}

export function pendingFinalizers(info: ResourceInfo, o: KubeObject): boolean {
  if (o.metadata.finalizers?.length) return true;
  if (info.kind === 'Namespace')
    return !!(o.spec as { finalizers?: string[] } | undefined)?.finalizers?.length;
  return false;
}

/** The store speaks in group-resources; answer in upstream's words (`services "x" not found`). */
export function rename(e: unknown, info: ResourceInfo): unknown {
  if (!(e instanceof ApiError)) return e;
  const gr = groupResource(info);
  if (e.status.details?.kind === gr && gr !== info.resource) {
    const what = `${info.resource}.${info.group}`;
    e.status.message = e.status.message?.replace(gr, what);
    e.message = e.status.message ?? e.message;
    e.status.details.kind = info.resource;
    e.status.details.group = info.group;
  }
  return e;
}

export function toScale(o: KubeObject): KubeObject {
  const spec = o.spec as { replicas?: number; selector?: unknown };
  const status = (o.status ?? {}) as { replicas?: number };
  const sel = spec.selector as { matchLabels?: Record<string, string> } | undefined;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: {
      replicas: status.replicas ?? 0,
      selector: Object.entries(sel?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  };
}

export function encodeContinue(key: string, rv: number): string {
  return Buffer.from(JSON.stringify({ k: key, rv })).toString('base64url');
}

export function decodeContinue(token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof v.k === 'string') return v.k;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: it must come from the metadata.continue of a previous list');
}
