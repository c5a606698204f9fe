/**
 * What upstream's decoder does to a request body, on kdp's schema: a value of the wrong type is a
 * 400 (the unmarshal fails, whatever fieldValidation says); unknown fields are a 400 under
 * fieldValidation=Strict, a warning under Warn, silent under Ignore, and dropped from the object
 * unless refused. Duplicate JSON keys are treated the same way (JSON.parse keeps the last, as
 * upstream does under Warn and Ignore).
 */
import { badRequest } from '../errors.ts';
import type { ResourceInfo } from '../resources.ts';
import { duplicateFields } from './duplicate-fields.ts';
import { checkAgainstSchema } from './field-schema.ts';
import { KIND_SCHEMAS } from './kinds.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

function cannotHandle(info: ResourceInfo): string {
  return `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}`;
}

/**
 * Duplicate keys of a raw JSON body (anything else has none that survived parsing): 400 under
 * Strict, warnings under Warn, nothing under Ignore.
 */
export function checkDuplicateFields(info: ResourceInfo, raw: unknown, mode: FieldValidation): string[] {
  if (mode === 'Ignore' || !Buffer.isBuffer(raw)) return [];
  const text = raw.toString();
  if (!text.trimStart().startsWith('{')) return [];
  const messages = duplicateFields(text).map((p) => `duplicate field "${p}"`);
  if (mode === 'Strict' && messages.length)
    throw badRequest(`${cannotHandle(info)}: strict decoding error: ${messages.join(', ')}`);
  return messages;
}

/**
 * Checks and prunes `obj` in place for `info`'s kind; returns the warnings to send (Warn only).
 * Kinds without a schema pass untouched.
 */
export function decodeFields(info: ResourceInfo, obj: unknown, mode: FieldValidation): string[] {
  const schema = KIND_SCHEMAS[info.kind];
  if (!schema) return [];
  const found = checkAgainstSchema(schema, obj, mode !== 'Strict');
  const prefix = cannotHandle(info);
  if (found.mismatches.length) {
    const m = found.mismatches[0];
    throw badRequest(
      `${prefix}: json: cannot unmarshal ${m.got} into Go struct field ${m.path} of type ${m.expected}`,
    );
  }
  const messages = found.unknown.map((p) => `unknown field "${p}"`);
  if (mode === 'Strict' && messages.length)
    throw badRequest(`${prefix}: strict decoding error: ${messages.join(', ')}`);
  return mode === 'Warn' ? messages : [];
}
