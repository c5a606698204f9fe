/**
 * Decoding untrusted JSON and YAML request bodies without the two ways a single body can hurt a
 * JavaScript server: a key `__proto__` that a later merge turns into a write to Object.prototype,
 * and nesting so deep that recursive code (clone, merge, validate, compare) overflows the stack.
 *
 * Depth is checked on the raw JSON text with an iterative scan before JSON.parse, so no recursion
 * ever sees a deep document. kdp's limit is lower than upstream's decoder limit of 10000: no
 * object a served kind defines nests past a few dozen levels, and 1000 leaves every recursive
 * helper far from Node's stack limit.
 */
import { badRequest } from './errors.ts';

/** Deepest nesting of objects and arrays a request body may have. */
export const MAX_JSON_DEPTH = 1000;

/** A key that assignment (`o[k] = v`) treats as the object's prototype, not as data. */
export function isUnsafeKey(key: string): boolean {
  return key === '__proto__';
}

function tooDeep(max: number): never {
  throw badRequest(`the request body could not be decoded: exceeded max depth of ${max}`);
}

/**
 * Throws 400 when the JSON text nests objects or arrays deeper than `max`. Brackets inside
 * strings do not count; the scan does not validate JSON (JSON.parse does that next).
 */
export function checkJsonTextDepth(text: string, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) tooDeep(max);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/**
 * Walks a decoded value without recursion: 400 when it nests deeper than `max` or holds a
 * `__proto__` key anywhere (no field of any served kind has that name, and no label or annotation
 * key may have it, so refusing it loses nothing and stops prototype pollution at the door).
 */
export function checkJsonValue(value: unknown, max = MAX_JSON_DEPTH): void {
  // Each entry remembers its parent so the path is built only for the error message.
  interface Entry {
    v: unknown;
    depth: number;
    key: string;
    up?: Entry;
  }
  const stack: Entry[] = [{ v: value, depth: 0, key: '' }];
  while (stack.length) {
    const e = stack.pop()!;
    const v = e.v;
    if (typeof v !== 'object' || v === null) continue;
    if (e.depth + 1 > max) tooDeep(max);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], depth: e.depth + 1, key: `[${i}]`, up: e });
      continue;
    }
    for (const k of Object.keys(v)) {
      if (isUnsafeKey(k)) {
        const path = [k];
        for (let u: Entry | undefined = e; u?.up; u = u.up) path.unshift(u.key);
        throw badRequest(
          `the request body could not be decoded: the key "${k}" is not allowed (at ${path.join('.').replace(/\.\[/g, '[')})`,
        );
      }
      stack.push({ v: (v as Record<string, unknown>)[k], depth: e.depth + 1, key: k, up: e });
    }
  }
}

/** JSON.parse for untrusted text: depth-checked before parsing, key-checked after. */
export function parseJsonSafely(text: string, max = MAX_JSON_DEPTH): unknown {
  checkJsonTextDepth(text, max);
  const value: unknown = JSON.parse(text);
  checkJsonValue(value, max);
  return value;
}
