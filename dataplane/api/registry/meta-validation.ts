/**
 * Validation of the ObjectMeta every kind shares, with upstream's rules, field paths and wording:
 * the name (DNS-1123 subdomain, a DNS-1123 label for Namespaces, a DNS-1035 label for Services),
 * generateName, labels and annotations (keys, values, total size), finalizers (qualified names),
 * ownerReferences (required fields, at most one controller) and the server-set fields a client
 * may echo back (resourceVersion, uid, generation, timestamps), each of the right JSON type.
 */
import type { ResourceInfo } from '../resources.ts';
import type { KubeObject, StatusCause } from '../types.ts';
import { isObj } from '../json-values.ts';
import { FieldErrors } from './strategies/field-errors.ts';
import { dns1035Label, dns1123Label, dns1123Subdomain, labelKey, labelValue } from './validation.ts';

type NameCheck = (s: string) => string | undefined;

/** Upstream's name rule per kind; every other served kind's name is a DNS-1123 subdomain. */
const NAME_RULES: Record<string, NameCheck> = {
  Namespace: dns1123Label,
  Service: dns1035Label,
};

/** Finalizers that need no domain prefix. */
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);
const MAX_ANNOTATIONS_BYTES = 256 * 1024;
/** RFC 3339 in UTC or with an offset, as metav1.Time marshals and parses. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function validateObjectMeta(info: ResourceInfo, obj: KubeObject): StatusCause[] {
  const errs = new FieldErrors();
  const m = obj.metadata as Record<string, unknown>;
  const nameRule = NAME_RULES[info.kind] ?? dns1123Subdomain;
  validateName(errs, m, nameRule);
  for (const f of ['namespace', 'uid', 'resourceVersion', 'selfLink'])
    stringField(errs, `metadata.${f}`, m[f]);
  for (const f of ['creationTimestamp', 'deletionTimestamp']) timeField(errs, `metadata.${f}`, m[f]);
  errs.atLeast('metadata.generation', m.generation, 0);
  errs.atLeast('metadata.deletionGracePeriodSeconds', m.deletionGracePeriodSeconds, 0);
  validateLabels(errs, m.labels);
  validateAnnotations(errs, m.annotations);
  validateFinalizers(errs, m.finalizers);
  validateOwnerReferences(errs, m.ownerReferences);
  if (m.managedFields !== undefined && m.managedFields !== null && !Array.isArray(m.managedFields))
    errs.invalid('metadata.managedFields', m.managedFields, 'must be a list');
  return errs.causes;
}

function validateName(errs: FieldErrors, m: Record<string, unknown>, rule: NameCheck): void {
  const { name, generateName } = m;
  if (generateName !== undefined && typeof generateName !== 'string') {
    errs.invalid('metadata.generateName', generateName, 'must be a string');
  } else if (generateName) {
    // A prefix may end in '-' (or '.' where names are subdomains): the random suffix follows it.
    const err = rule(generateName.replace(/[-.]$/, 'a'));
    errs.check('metadata.generateName', generateName, err);
  }
  if (name === undefined || name === '') {
    errs.required('metadata.name', 'name or generateName is required');
  } else if (typeof name !== 'string') {
    errs.invalid('metadata.name', name, 'must be a string');
  } else errs.check('metadata.name', name, rule(name));
}

function stringField(errs: FieldErrors, field: string, v: unknown): void {
  if (v !== undefined && v !== null && typeof v !== 'string') errs.invalid(field, v, 'must be a string');
}

function timeField(errs: FieldErrors, field: string, v: unknown): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'string' || !RFC3339.test(v) || Number.isNaN(Date.parse(v)))
    errs.invalid(field, v, 'must be an RFC 3339 date-time (e.g. 2024-01-02T15:04:05Z)');
}

/** A map of strings, or unset; reports anything else and returns the map's entries. */
function stringMap(errs: FieldErrors, field: string, v: unknown): [string, unknown][] {
  if (v === undefined || v === null) return [];
  if (!isObj(v)) {
    errs.invalid(field, v, 'must be a map of string keys to string values');
    return [];
  }
  return Object.entries(v);
}

function validateLabels(errs: FieldErrors, labels: unknown): void {
  for (const [k, v] of stringMap(errs, 'metadata.labels', labels)) {
    errs.check('metadata.labels', k, labelKey(k));
    if (typeof v !== 'string') errs.invalid(`metadata.labels.${k}`, v, 'must be a string');
    else errs.check('metadata.labels', v, labelValue(v));
  }
}

function validateAnnotations(errs: FieldErrors, annotations: unknown): void {
  let size = 0;
  for (const [k, v] of stringMap(errs, 'metadata.annotations', annotations)) {
    errs.check('metadata.annotations', k, labelKey(k.toLowerCase()));
    if (typeof v !== 'string') errs.invalid(`metadata.annotations.${k}`, v, 'must be a string');
    else size += k.length + v.length;
  }
  if (size > MAX_ANNOTATIONS_BYTES) {
    errs.tooLong('metadata.annotations', MAX_ANNOTATIONS_BYTES);
  }
}

function validateFinalizers(errs: FieldErrors, finalizers: unknown): void {
  if (finalizers === undefined || finalizers === null) return;
  if (!Array.isArray(finalizers)) return errs.invalid('metadata.finalizers', finalizers, 'must be a list');
  finalizers.forEach((f, i) => {
    const field = `metadata.finalizers[${i}]`;
    if (typeof f !== 'string') return errs.invalid(field, f, 'must be a string');
    const err = labelKey(f);
    if (err) return errs.invalid(field, f, err);
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f))
      errs.invalid(field, f, 'name is neither a standard finalizer name nor is it fully qualified');
  });
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion'))
    errs.invalid(
      'metadata.finalizers',
      finalizers,
      'finalizer orphan and foregroundDeletion cannot be both set',
    );
}

const OWNER_REQUIRED: [string, string][] = [
  ['apiVersion', 'version must not be empty'],
  ['kind', 'kind must not be empty'],
  ['name', 'name must not be empty'],
  ['uid', 'uid must not be empty'],
];

function validateOwnerReferences(errs: FieldErrors, refs: unknown): void {
  if (refs === undefined || refs === null) return;
  if (!Array.isArray(refs)) return errs.invalid('metadata.ownerReferences', refs, 'must be a list');
  const controllers: string[] = [];
  refs.forEach((r, i) => {
    const path = `metadata.ownerReferences[${i}]`;
    if (!isObj(r)) return errs.invalid(path, r, 'must be an object');
    for (const [f, msg] of OWNER_REQUIRED) {
      const v = r[f];
      if (v !== undefined && v !== null && typeof v !== 'string')
        errs.invalid(`${path}.${f}`, v, 'must be a string');
      else if (!v) errs.invalid(`${path}.${f}`, v ?? '', msg);
    }
    if (r.apiVersion === 'v1' && r.kind === 'Event')
      errs.invalid(path, r, 'is disallowed from being an owner');
    errs.bool(`${path}.controller`, r.controller);
    errs.bool(`${path}.blockOwnerDeletion`, r.blockOwnerDeletion);
    if (r.controller === true) controllers.push(`${String(r.kind)}/${String(r.name)}`);
  });
  if (controllers.length > 1) {
    errs.invalid(
      'metadata.ownerReferences',
      refs,
      `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`,
    );
  }
}
