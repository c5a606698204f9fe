/**
 * The known-field schema of the served kinds: every field upstream's v1 types define, with its
 * JSON type, so the apiserver can do what upstream's decoder does with a request body: refuse a
 * value of the wrong type (400, as a failed unmarshal), and report unknown fields as
 * fieldValidation asks (Strict: 400, Warn: a warning, Ignore: nothing; unknown fields are dropped
 * unless Strict refused them). Subtrees kdp never reads may be `any`. The table is data that an
 * OpenAPI document or `kubectl explain` can later be built from.
 */

export type Scalar = 'string' | 'integer' | 'number' | 'boolean' | 'intOrString' | 'quantity' | 'any';

export type FieldSchema =
  Scalar | { struct: Record<string, FieldSchema> } | { list: FieldSchema } | { map: FieldSchema };

export const S: Scalar = 'string';
export const I: Scalar = 'integer';
export const B: Scalar = 'boolean';
export const ANY: Scalar = 'any';

export function struct(fields: Record<string, FieldSchema>): FieldSchema {
  return { struct: fields };
}

export function list(of: FieldSchema): FieldSchema {
  return { list: of };
}

export function map(of: FieldSchema): FieldSchema {
  return { map: of };
}

export interface TypeMismatch {
  path: string;
  /** What the schema wants, in Go's words (string, int64, bool, object, array, map). */
  expected: string;
  /** What was sent, in Go's JSON words (number, string, bool, array, object). */
  got: string;
}

export interface SchemaFindings {
  mismatches: TypeMismatch[];
  /** Paths of fields the schema does not know, as upstream prints them: `spec.containers[0].foo`. */
  unknown: string[];
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

const GO_NAMES: Record<string, string> = {
  string: 'string',
  integer: 'int64',
  number: 'float64',
  boolean: 'bool',
  intOrString: 'IntOrString',
  quantity: 'Quantity',
};

function scalarOk(t: Scalar, v: unknown): boolean {
  switch (t) {
    case 'any':
      return true;
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'intOrString':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
    case 'quantity':
      return typeof v === 'string' || typeof v === 'number';
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Walks `value` against `schema`, collecting type mismatches and unknown fields. With `prune`,
 * unknown fields are deleted from the value (what upstream's decoder drops). Null is accepted
 * anywhere, as Go's decoder leaves the field at its zero value.
 */
export function checkAgainstSchema(
  schema: FieldSchema,
  value: unknown,
  prune: boolean,
  path = '',
  out: SchemaFindings = { mismatches: [], unknown: [] },
): SchemaFindings {
  if (value === null || value === undefined) return out;
  if (typeof schema === 'string') {
    if (!scalarOk(schema, value))
      out.mismatches.push({ path, expected: GO_NAMES[schema], got: jsonType(value) });
    return out;
  }
  if ('list' in schema) {
    if (!Array.isArray(value)) out.mismatches.push({ path, expected: 'array', got: jsonType(value) });
    else value.forEach((v, i) => checkAgainstSchema(schema.list, v, prune, `${path}[${i}]`, out));
    return out;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.mismatches.push({ path, expected: 'map' in schema ? 'map' : 'object', got: jsonType(value) });
    return out;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const sub =
      'map' in schema ? schema.map : Object.hasOwn(schema.struct, key) ? schema.struct[key] : undefined;
    const p = 'map' in schema ? `${path}[${key}]` : join(path, key);
    if (sub === undefined) {
      out.unknown.push(p);
      if (prune) delete obj[key];
    } else checkAgainstSchema(sub, obj[key], prune, p, out);
  }
  return out;
}
