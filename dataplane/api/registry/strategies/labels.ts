/**
 * Validation of label maps (Service selectors, node selectors, template labels) and of the
 * structured LabelSelector that Deployments and ReplicaSets carry.
 */
import { isObj } from '../../json-values.ts';
import { labelKey, labelValue } from '../validation.ts';
import { type FieldErrors, listOrReport } from './field-errors.ts';

export function validateLabelMap(errs: FieldErrors, field: string, m: unknown): void {
  if (m === undefined || m === null) return;
  if (!isObj(m)) return errs.invalid(field, m, 'must be a map of strings');
  for (const [k, v] of Object.entries(m)) {
    errs.check(field, k, labelKey(k));
    errs.check(field, v, typeof v === 'string' ? labelValue(v) : 'must be a string');
  }
}

const OPERATORS = ['DoesNotExist', 'Exists', 'In', 'NotIn'];

/** A LabelSelector's syntax; whether it may be empty is the caller's business. */
export function validateLabelSelector(errs: FieldErrors, field: string, sel: unknown): void {
  if (!isObj(sel)) return errs.invalid(field, sel, 'must be a label selector object');
  validateLabelMap(errs, `${field}.matchLabels`, sel.matchLabels);
  listOrReport(errs, `${field}.matchExpressions`, sel.matchExpressions).forEach((e, i) => {
    const p = `${field}.matchExpressions[${i}]`;
    if (!isObj(e)) return errs.invalid(p, e, 'must be an object');
    if (typeof e.key !== 'string' || e.key === '') errs.required(`${p}.key`);
    else errs.check(`${p}.key`, e.key, labelKey(e.key));
    errs.oneOf(`${p}.operator`, e.operator, OPERATORS, true);
    const values = listOrReport(errs, `${p}.values`, e.values);
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      errs.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      errs.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
    values.forEach((v, j) =>
      errs.check(`${p}.values[${j}]`, v, typeof v === 'string' ? labelValue(v) : 'must be a string'),
    );
  });
}
