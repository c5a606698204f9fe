/**
 * What upstream's decoder does to a request body, on kdp's schema: a value of the wrong type is a
 * 400 (the unmarshal fails, whatever fieldValidation says); unknown fields are a 400 under
 * fieldValidation=Strict, a warning under Warn, silent under Ignore, and dropped from the object
 * unless refused. Duplicate JSON keys are not detected (JSON.parse keeps the last, as Warn does).
 */
import { badRequest } from '../errors.ts';
import type { ResourceInfo } from '../resources.ts';
import { apiVersionOf } from '../resources.ts';
import { checkAgainstSchema } from './field-schema.ts';
import { KIND_SCHEMAS } from './kinds.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/**
 * Checks and prunes `obj` in place for `info`'s kind; returns the warnings to send (Warn only).
 * Kinds without a schema pass untouched.
 */
export function decodeFields(info: ResourceInfo, obj: unknown, mode: FieldValidation): string[] {
  const schema = KIND_SCHEMAS[info.kind];
  if (!schema) return [];
  const found = checkAgainstSchema(schema, obj, mode !== 'Strict');
  const prefix = `${info.kind} in version "${apiVersionOf(info).split('/').pop()}" cannot be handled as a ${info.kind}`;
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
