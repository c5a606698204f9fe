/**
 * Label and field selectors in their query-string form, as kubectl and client-go send them:
 *   labels: `app=web,tier!=db,env in (a,b),env notin (c),has-key,!no-key`
 *   fields: `spec.nodeName=n1,status.phase!=Failed` (also `==`)
 * and the structured LabelSelector of Deployments and ReplicaSets.
 */
import type { KubeObject, LabelSelector } from './types.ts';

export type Requirement =
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  if (s.trim() === '') return [];
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  const terms = out.map((t) => t.trim());
  // `a,,b` or a trailing comma is a malformed selector upstream, not an empty requirement.
  if (terms.some((t) => t === '')) throw new SelectorError(`found empty requirement in "${s}"`);
  return terms;
}

const KEY = /^([A-Za-z0-9][-A-Za-z0-9_.]*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, term: string): string {
  if (!KEY.test(key) || key.length > 316) throw new SelectorError(`invalid label key "${key}" in "${term}"`);
  return key;
}

function checkValue(v: string, term: string): string {
  if (!VALUE.test(v) || v.length > 63) throw new SelectorError(`invalid label value "${v}" in "${term}"`);
  return v;
}

export function parseLabelSelector(s: string | undefined | null): Requirement[] {
  if (!s) return [];
  return splitTerms(s).map((term) => {
    let m = /^(.+?)\s+(in|notin)\s+\((.*)\)$/.exec(term);
    if (m) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
        .map((v) => checkValue(v, term));
      if (!values.length)
        throw new SelectorError(`for 'in', 'notin' operators, values set can't be empty in "${term}"`);
      return { key: checkKey(m[1].trim(), term), op: m[2] as 'in' | 'notin', values };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m) {
      return {
        key: checkKey(m[1], term),
        op: m[2] === '!=' ? '!=' : '=',
        value: checkValue(m[3].trim(), term),
      };
    }
    if (term.startsWith('!')) return { key: checkKey(term.slice(1).trim(), term), op: '!exists' };
    if (/\s/.test(term) || /[<>]/.test(term))
      throw new SelectorError(`unable to parse requirement "${term}"`);
    return { key: checkKey(term, term), op: 'exists' };
  });
}

export function matchRequirements(
  reqs: readonly Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case '=':
        if (!has || l[r.key] !== r.value) return false;
        break;
      case '!=':
        if (has && l[r.key] === r.value) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(l[r.key])) return false;
        break;
      case 'notin':
        if (has && r.values.includes(l[r.key])) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!exists':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Requirements of a structured LabelSelector. An empty selector matches everything, as upstream. */
export function labelSelectorRequirements(sel: LabelSelector | undefined): Requirement[] {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(sel?.matchLabels ?? {})) reqs.push({ key, op: '=', value });
  for (const e of sel?.matchExpressions ?? []) {
    const op = e.operator;
    if (op === 'In') reqs.push({ key: e.key, op: 'in', values: e.values ?? [] });
    else if (op === 'NotIn') reqs.push({ key: e.key, op: 'notin', values: e.values ?? [] });
    else if (op === 'Exists') reqs.push({ key: e.key, op: 'exists' });
    else if (op === 'DoesNotExist') reqs.push({ key: e.key, op: '!exists' });
    else throw new SelectorError(`unknown label selector operator "${String(op)}"`);
  }
  return reqs;
}

export function selectorMatches(
  sel: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  return matchRequirements(labelSelectorRequirements(sel), labels);
}

/** `{a: 'b'}` -> `a=b`, the string form of a map selector (a Service's selector). */
export function formatMapSelector(m: Record<string, string> | undefined): string {
  return Object.entries(m ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

// ---- field selectors ----

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(
  s: string | undefined | null,
  allowed: readonly string[],
): FieldRequirement[] {
  if (!s) return [];
  return splitTerms(s).map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector "${term}": expected field=value or field!=value`);
    const field = m[1].trim();
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !allowed.includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3].trim() };
  });
}

/** Reads a dotted path such as `spec.nodeName`; absent fields read as '' as upstream does. */
export function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    // Own fields only: an inherited member (`constructor`) is not a field of the object.
    cur = Object.hasOwn(cur, part) ? (cur as Record<string, unknown>)[part] : undefined;
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matchFields(reqs: readonly FieldRequirement[], obj: KubeObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
