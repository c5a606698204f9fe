/**
 * Strategic merge patch, as kubectl apply, edit and patch send it: maps merge (null deletes),
 * lists with a merge key merge item by item, string sets merge as sets, other lists are replaced.
 * Directives: `$patch: replace | delete | merge` on maps and list items, `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`.
 *
 * Works on private copies: `orig` may be changed, the patch never is (values are cloned in).
 */
import { badRequest } from '../errors.ts';
import { isUnsafeKey } from '../json-safe.ts';
import { deepEqual, isObj, type Json } from '../json-values.ts';
import type { FieldPatchInfo, PatchSchema } from './patch-schema.ts';

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

/** Returned by mergeMap when the patch deletes the whole map (`$patch: delete`). */
const DELETE = Symbol('delete');

export function fail(message: string): never {
  throw badRequest(`unable to apply patch: ${message}`);
}

/**
 * Every merge refuses `__proto__` itself, though the body decoder already does: a patch can
 * also come from an in-process caller, and `out[k] = v` with that key would change a prototype.
 */
export function refuseUnsafeKey(key: string): void {
  if (isUnsafeKey(key)) fail(`the key ${JSON.stringify(key)} is not allowed`);
}

/** The own value of a key: inherited members such as `constructor` are not data. */
function own(o: Json, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

export function strategicMerge(orig: unknown, patch: Json, schema: PatchSchema): unknown {
  const out = mergeMap(isObj(orig) ? orig : {}, patch, schema);
  if (out === DELETE) fail('$patch: delete may not delete the whole object');
  return out;
}

function mergeMap(orig: Json, patch: Json, schema: PatchSchema | undefined): Json | typeof DELETE {
  const directive = patch[PATCH];
  if (directive === 'delete') return DELETE;
  if (directive === 'replace') {
    const rest = { ...patch };
    delete rest[PATCH];
    return mergeMap({}, rest, schema);
  }
  if (directive !== undefined && directive !== 'merge')
    fail(`unknown patch type ${JSON.stringify(directive)} in map`);
  // Lists are rebuilt, never changed in place, so this keeps the server's order for $setElementOrder.
  const before: Json = { ...orig };
  let out: Json = orig;
  if (patch[RETAIN_KEYS] !== undefined) out = retain(out, patch[RETAIN_KEYS]);
  for (const k of Object.keys(patch)) refuseUnsafeKey(k);
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith(DELETE_FROM)) continue;
    const field = k.slice(DELETE_FROM.length);
    refuseUnsafeKey(field);
    if (!Array.isArray(v)) fail(`${k} must be a list`);
    const list = own(out, field);
    if (Array.isArray(list)) out[field] = list.filter((x) => !v.some((d) => deepEqual(d, x)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === PATCH || k === RETAIN_KEYS || k.startsWith(DELETE_FROM) || k.startsWith(SET_ORDER)) continue;
    const info = schema && Object.hasOwn(schema, k) ? schema[k] : undefined;
    const cur = own(out, k);
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(cur, v, info);
    else if (isObj(v)) {
      const merged = mergeMap(isObj(cur) ? cur : {}, v, info?.fields);
      if (merged === DELETE) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith(SET_ORDER)) continue;
    const field = k.slice(SET_ORDER.length);
    refuseUnsafeKey(field);
    if (!Array.isArray(v)) fail(`${k} must be a list`);
    const list = own(out, field);
    const mergeKey = schema && Object.hasOwn(schema, field) ? schema[field].mergeKey : undefined;
    if (Array.isArray(list)) out[field] = reorder(list, v, own(before, field), mergeKey);
  }
  return out;
}

/** `$retainKeys`: fields of the original not listed are dropped (a union type switching member). */
function retain(orig: Json, keys: unknown): Json {
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    fail(`${RETAIN_KEYS} must be a list of strings`);
  const out: Json = {};
  for (const k of keys) {
    refuseUnsafeKey(k);
    if (Object.hasOwn(orig, k)) out[k] = orig[k];
  }
  return out;
}

function mergeList(orig: unknown, patch: unknown[], info: FieldPatchInfo | undefined): unknown[] {
  if (info?.mergeKey) return mergeByKey(Array.isArray(orig) ? orig : [], patch, info.mergeKey, info.fields);
  if (info?.mergeSet) {
    const out = Array.isArray(orig) ? [...orig] : [];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(structuredClone(v));
    return out;
  }
  return structuredClone(patch);
}

function mergeByKey(
  orig: unknown[],
  patch: unknown[],
  key: string,
  fields: PatchSchema | undefined,
): unknown[] {
  const isReplace = (e: unknown) => isObj(e) && e[PATCH] === 'replace';
  if (patch.some(isReplace)) {
    return patch
      .filter((e) => !isReplace(e))
      .map((e) => (isObj(e) ? mergeMap({}, e, fields) : structuredClone(e)));
  }
  const out = [...orig];
  for (const e of patch) {
    if (!isObj(e)) fail(`list items merged by "${key}" must be objects, got ${JSON.stringify(e)}`);
    if (e[key] === undefined) fail(`map: ${JSON.stringify(e)} does not contain declared merge key: ${key}`);
    const at = out.findIndex((x) => isObj(x) && deepEqual(x[key], e[key]));
    if (e[PATCH] === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    const merged = mergeMap(at >= 0 ? (out[at] as Json) : {}, e, fields);
    if (merged === DELETE) continue;
    if (at >= 0) out[at] = merged;
    else out.push(merged);
  }
  return out;
}

/**
 * `$setElementOrder`: the items the patch names come in its order; items only the server had
 * keep their place relative to them, judged by their positions in the original list.
 */
function reorder(list: unknown[], order: unknown[], before: unknown, key: string | undefined): unknown[] {
  const idOf = (x: unknown) => (key ? (isObj(x) ? x[key] : undefined) : x);
  const orderIds = order.map(idOf);
  const rank = (x: unknown) => orderIds.findIndex((id) => deepEqual(id, idOf(x)));
  const serverIds = (Array.isArray(before) ? before : []).map(idOf);
  const serverRank = (x: unknown) => serverIds.findIndex((id) => deepEqual(id, idOf(x)));
  const named = list.filter((x) => rank(x) >= 0).sort((a, b) => rank(a) - rank(b));
  const serverOnly = list.filter((x) => rank(x) < 0);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < named.length) {
    if (j >= named.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(named[j++]);
    else {
      const l = serverRank(serverOnly[i]);
      const r = serverRank(named[j]);
      if (l >= 0 && r >= 0 && l < r) out.push(serverOnly[i++]);
      else out.push(named[j++]);
    }
  }
  return out;
}
