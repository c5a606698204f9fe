/**
 * JSON patch (RFC 6902): add, remove, replace, move, copy and test, addressed by JSON pointers
 * (RFC 6901, `~1` for `/` and `~0` for `~`). A failing `test` fails the whole patch.
 * Works on a private copy of the document; values from the patch are cloned in.
 */
import { deepEqual, isObj } from '../json-values.ts';
import { fail, refuseUnsafeKey } from './patch-strategic.ts';

export function jsonPatch(doc: unknown, ops: unknown[]): unknown {
  ops.forEach((op, i) => {
    if (!isObj(op) || typeof op.op !== 'string') fail(`operation ${i} must be an object with an "op"`);
    if (typeof op.path !== 'string') fail(`operation ${i} (${op.op}) has no "path"`);
    const path = parsePointer(op.path);
    const value = () => {
      if (!Object.hasOwn(op, 'value')) fail(`operation ${i} (${op.op} ${op.path}) has no "value"`);
      return structuredClone(op.value);
    };
    const from = () => {
      if (typeof op.from !== 'string') fail(`operation ${i} (${op.op} ${op.path}) has no "from"`);
      return parsePointer(op.from);
    };
    switch (op.op) {
      case 'add':
        doc = add(doc, path, value(), op.path);
        break;
      case 'remove':
        doc = remove(doc, path, op.path);
        break;
      case 'replace':
        get(doc, path, op.path);
        doc = path.length ? set(doc, path, value(), op.path) : value();
        break;
      case 'move': {
        const src = from();
        if (op.path.startsWith(`${op.from}/`)) fail(`cannot move ${op.from} into its own child ${op.path}`);
        const v = get(doc, src, op.from as string);
        doc = add(remove(doc, src, op.from as string), path, v, op.path);
        break;
      }
      case 'copy':
        doc = add(doc, path, structuredClone(get(doc, from(), op.from as string)), op.path);
        break;
      case 'test': {
        const actual = get(doc, path, op.path);
        if (!deepEqual(actual, op.value)) {
          fail(
            `test operation for path ${op.path} failed: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(actual)}`,
          );
        }
        break;
      }
      default:
        fail(`unknown operation ${JSON.stringify(op.op)} (operation ${i})`);
    }
  });
  return doc;
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) fail(`JSON pointer ${JSON.stringify(p)} must start with "/"`);
  return p
    .slice(1)
    .split('/')
    .map((t) => {
      const token = t.replace(/~1/g, '/').replace(/~0/g, '~');
      refuseUnsafeKey(token);
      return token;
    });
}

function arrayIndex(arr: unknown[], token: string, path: string, forInsert: boolean): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) fail(`${path}: "${token}" is not an array index`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) fail(`${path}: index ${i} is out of bounds`);
  return i;
}

function get(doc: unknown, tokens: string[], path: string): unknown {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, path, false)];
    else if (isObj(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else fail(`${path}: path does not exist`);
  }
  return cur;
}

function add(doc: unknown, tokens: string[], value: unknown, path: string): unknown {
  if (!tokens.length) return value;
  const parent = get(doc, tokens.slice(0, -1), path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(value);
    else parent.splice(arrayIndex(parent, last, path, true), 0, value);
  } else if (isObj(parent)) parent[last] = value;
  else fail(`${path}: parent is not an object or a list`);
  return doc;
}

function set(doc: unknown, tokens: string[], value: unknown, path: string): unknown {
  const parent = get(doc, tokens.slice(0, -1), path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent[arrayIndex(parent, last, path, false)] = value;
  else (parent as Record<string, unknown>)[last] = value;
  return doc;
}

function remove(doc: unknown, tokens: string[], path: string): unknown {
  if (!tokens.length) fail('cannot remove the whole document');
  get(doc, tokens, path);
  const parent = get(doc, tokens.slice(0, -1), path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, path, false), 1);
  else delete (parent as Record<string, unknown>)[last];
  return doc;
}
