/**
 * Builders for the causes of a 422, worded as upstream's field errors so kubectl prints what a
 * user of the real apiserver would see: `spec.ports[0].port: Invalid value: 70000: must be
 * between 1 and 65535, inclusive`. Plus the small JSON helpers strategies use to read objects a
 * client sent, which may have any shape.
 */
import type { StatusCause } from '../../types.ts';

export class FieldErrors {
  readonly causes: StatusCause[] = [];

  private add(field: string, reason: string, message: string): void {
    this.causes.push({ reason, message, field });
  }

  required(field: string, detail = ''): void {
    this.add(field, 'FieldValueRequired', detail ? `Required value: ${detail}` : 'Required value');
  }

  invalid(field: string, value: unknown, detail: string): void {
    this.add(field, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${detail}`);
  }

  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    const list = supported.map((s) => JSON.stringify(s)).join(', ');
    this.add(
      field,
      'FieldValueNotSupported',
      `Unsupported value: ${formatValue(value)}: supported values: ${list}`,
    );
  }

  duplicate(field: string, value: unknown): void {
    this.add(field, 'FieldValueDuplicate', `Duplicate value: ${formatValue(value)}`);
  }

  forbidden(field: string, detail: string): void {
    this.add(field, 'FieldValueForbidden', `Forbidden: ${detail}`);
  }

  tooMany(field: string, actual: number, max: number): void {
    this.add(field, 'FieldValueTooMany', `Too many: ${actual}: must have at most ${max} items`);
  }

  tooLong(field: string, max: number): void {
    this.add(field, 'FieldValueTooLong', `Too long: must have at most ${max} bytes`);
  }

  /** Reports `err` (a validator's reason) as an invalid value when there is one. */
  check(field: string, value: unknown, err: string | undefined): void {
    if (err) this.invalid(field, value, err);
  }

  /** An enum field: NotSupported when set to anything else; Required when `required` and unset. */
  oneOf(field: string, value: unknown, supported: readonly string[], required = false): void {
    if (value === undefined || value === '') {
      if (required) this.required(field);
    } else if (typeof value !== 'string' || !supported.includes(value))
      this.notSupported(field, value, supported);
  }

  /** An optional boolean field. */
  bool(field: string, value: unknown): void {
    if (value !== undefined && typeof value !== 'boolean') this.invalid(field, value, 'must be a boolean');
  }

  /** An optional list of strings (a container's command or args). */
  stringList(field: string, value: unknown): void {
    if (value === undefined || value === null) return;
    if (!Array.isArray(value)) return this.invalid(field, value, 'must be a list of strings');
    value.forEach((v, i) => {
      if (typeof v !== 'string') this.invalid(`${field}[${i}]`, v, 'must be a string');
    });
  }

  /** An optional integer field with a lower bound. */
  atLeast(field: string, value: unknown, min: number): void {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value))
      this.invalid(field, value, 'must be an integer');
    else if (value < min) this.invalid(field, value, `must be greater than or equal to ${min}`);
  }
}

/** Values as upstream prints them: strings quoted, numbers bare, structures as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined) return 'null';
  return JSON.stringify(v);
}

/** A list field: its items, or none when unset. Callers report a non-list with `listOrReport`. */
export function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Items of a list field; reports a value that is neither a list nor unset. */
export function listOrReport(errs: FieldErrors, field: string, v: unknown): unknown[] {
  if (v !== undefined && v !== null && !Array.isArray(v)) errs.invalid(field, v, 'must be a list');
  return listOf(v);
}
