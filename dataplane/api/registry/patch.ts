/**
 * PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch with the merge keys of kdp's
 * kinds (patch-strategic.ts, patch-schema.ts), and JSON patch (RFC 6902, patch-json.ts).
 * Server-side apply is not supported: kubectl's client-side apply sends strategic merge patches.
 * Any failure is a 400 `unable to apply patch: ...`; neither argument is changed.
 */
import { ApiError } from '../errors.ts';
import { parseJsonSafely } from '../json-safe.ts';
import { isObj, type Json } from '../json-values.ts';
import { jsonPatch } from './patch-json.ts';
import { patchSchemaFor } from './patch-schema.ts';
import { fail, refuseUnsafeKey, strategicMerge } from './patch-strategic.ts';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export function applyPatch(type: PatchType, current: unknown, patch: unknown, kind: string): unknown {
  if (type === 'apply') {
    throw new ApiError(
      'UnsupportedMediaType',
      'server-side apply (application/apply-patch+yaml) is not supported by kdp: use client-side `kubectl apply` ' +
        '(without --server-side); accepted patch types are application/json-patch+json, ' +
        'application/merge-patch+json and application/strategic-merge-patch+json',
    );
  }
  const body = parseBody(patch);
  const doc = structuredClone(current);
  switch (type) {
    case 'merge':
      if (!isObj(body)) fail('a merge patch must be a JSON object');
      return mergePatch(doc, body);
    case 'strategic':
      if (!isObj(body)) fail('a strategic merge patch must be a JSON object');
      return strategicMerge(doc, body, patchSchemaFor(kind));
    case 'json':
      if (!Array.isArray(body)) fail('a JSON patch must be a list of operations');
      return jsonPatch(doc, body);
    default:
      return fail(`unknown patch type ${JSON.stringify(type)}`);
  }
}

/** Bodies normally arrive parsed; a string or bytes is JSON text. */
function parseBody(patch: unknown): unknown {
  if (typeof patch !== 'string' && !(patch instanceof Uint8Array)) return patch;
  const text = typeof patch === 'string' ? patch : Buffer.from(patch).toString('utf8');
  try {
    return parseJsonSafely(text);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    return fail(`the patch is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * RFC 7386: objects merge recursively, null deletes, anything else replaces. Only own keys of
 * the target are merged into (an inherited `constructor` is not an object to merge with).
 */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Json = isObj(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    refuseUnsafeKey(k);
    if (v === null) delete out[k];
    else out[k] = mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v);
  }
  return out;
}
