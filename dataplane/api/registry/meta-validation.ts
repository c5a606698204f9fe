/**
 * Validation of metadata shared by every kind: names (DNS-1123 subdomain or label, as the kind
 * requires), generateName, labels and annotations (keys, values, total size).
 */
import type { ResourceInfo } from '../resources.ts';
import type { KubeObject, StatusCause } from '../types.ts';
import { dns1123Label, dns1123Subdomain, labelKey, labelValue } from './validation.ts';

/** Kinds whose names must be DNS-1123 labels (they become DNS names or label values). */
const LABEL_NAMED = new Set(['Namespace', 'Service']);

export function validateObjectMeta(info: ResourceInfo, obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const m = obj.metadata;
  const add = (field: string, reason: string, message: string) => causes.push({ field, reason, message });
  if (!m.name) {
    add('metadata.name', 'FieldValueRequired', 'Required value: name or generateName is required');
  } else {
    const err = LABEL_NAMED.has(info.kind) ? dns1123Label(m.name) : dns1123Subdomain(m.name);
    if (err) add('metadata.name', 'FieldValueInvalid', `Invalid value: "${m.name}": ${err}`);
  }
  if (m.labels !== undefined) {
    if (typeof m.labels !== 'object' || m.labels === null || Array.isArray(m.labels)) {
      add('metadata.labels', 'FieldValueInvalid', 'Invalid value: labels must be a map of strings');
    } else {
      for (const [k, v] of Object.entries(m.labels)) {
        const ke = labelKey(k);
        if (ke) add('metadata.labels', 'FieldValueInvalid', `Invalid value: "${k}": ${ke}`);
        const ve = typeof v === 'string' ? labelValue(v) : 'must be a string';
        if (ve) add(`metadata.labels`, 'FieldValueInvalid', `Invalid value: "${String(v)}": ${ve}`);
      }
    }
  }
  if (m.annotations !== undefined) {
    if (typeof m.annotations !== 'object' || m.annotations === null || Array.isArray(m.annotations)) {
      add('metadata.annotations', 'FieldValueInvalid', 'Invalid value: annotations must be a map of strings');
    } else {
      let size = 0;
      for (const [k, v] of Object.entries(m.annotations)) {
        const ke = labelKey(k);
        if (ke) add('metadata.annotations', 'FieldValueInvalid', `Invalid value: "${k}": ${ke}`);
        if (typeof v !== 'string')
          add(`metadata.annotations`, 'FieldValueInvalid', `Invalid value: "${k}": value must be a string`);
        else size += k.length + v.length;
      }
      if (size > 256 * 1024)
        add('metadata.annotations', 'FieldValueTooLong', 'Too long: must have at most 262144 bytes');
    }
  }
  return causes;
}
