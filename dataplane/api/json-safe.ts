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
  // Nesting deeper than max needs more than max opening brackets: short bodies cannot.
  if (text.length <= max) return;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Jump to the closing quote: one not preceded by an odd number of backslashes.
      let j = text.indexOf('"', i + 1);
      while (j > 0 && isEscaped(text, j)) j = text.indexOf('"', j + 1);
      if (j < 0) return; // unterminated string: JSON.parse reports it
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) tooDeep(max);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

function isEscaped(text: string, quote: number): boolean {
  let n = 0;
  for (let k = quote - 1; text.charCodeAt(k) === 0x5c; k--) n++;
  return n % 2 === 1;
}

/**
 * Walks a decoded value without recursion: 400 when it nests deeper than `max` or holds a
 * `__proto__` key anywhere (no field of any served kind has that name, and no label or annotation
 * key may have it, so refusing it loses nothing and stops prototype pollution at the door).
 */
export function checkJsonValue(value: unknown, max = MAX_JSON_DEPTH): void {
  // Two parallel stacks instead of an entry object per node: this runs on every request body.
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length) {
    const v = values.pop();
    const depth = depths.pop()! + 1;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) tooDeep(max);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        values.push(v[i]);
        depths.push(depth);
      }
      continue;
    }
    for (const k in v) {
      if (isUnsafeKey(k)) {
        throw badRequest(
          `the request body could not be decoded: the key "${k}" is not allowed (at ${pathToUnsafeKey(value)})`,
        );
      }
      values.push((v as Record<string, unknown>)[k]);
      depths.push(depth);
    }
  }
}

/** Where the first `__proto__` key is, for the message (only on the error path). */
function pathToUnsafeKey(value: unknown): string {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: '' }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, x] of Object.entries(v)) {
      const at = Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (!Array.isArray(v) && isUnsafeKey(k)) return at;
      stack.push({ v: x, path: at });
    }
  }
  return '?';
}

/** JSON.parse for untrusted text: depth-checked before parsing, key-checked after. */
export function parseJsonSafely(text: string, max = MAX_JSON_DEPTH): unknown {
  checkJsonTextDepth(text, max);
  const value: unknown = JSON.parse(text);
  checkJsonValue(value, max);
  return value;
}
