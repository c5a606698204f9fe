/**
 * Namespaces: the `kubernetes` finalizer on create (the namespace controller removes it once the
 * namespace's content is gone) and phase Active. The name being a DNS label is checked with the
 * metadata (meta-validation.ts).
 */
import type { Namespace } from '../../types.ts';
import { isObj, type Json } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import { labelKey } from '../validation.ts';
import { FieldErrors, listOrReport } from './field-errors.ts';

const FINALIZER_KUBERNETES = 'kubernetes';

export const namespaceStrategy: Strategy<Namespace> = {
  statusFields: ['status'],

  default(ns) {
    if (ns.status === undefined) ns.status = {};
    if (isObj(ns.status)) ns.status.phase ??= 'Active';
  },

  prepareForCreate(ns) {
    // Not a default: the finalizer may be removed later and must not come back on an update.
    if (ns.spec === undefined) ns.spec = {};
    if (!isObj(ns.spec)) return;
    const spec = ns.spec as Json;
    const finalizers = Array.isArray(spec.finalizers) ? spec.finalizers : [];
    if (!finalizers.includes(FINALIZER_KUBERNETES)) spec.finalizers = [...finalizers, FINALIZER_KUBERNETES];
    ns.status = { phase: 'Active' };
  },

  validate(ns) {
    const errs = new FieldErrors();
    if (ns.spec !== undefined && !isObj(ns.spec)) errs.invalid('spec', ns.spec, 'must be an object');
    else {
      listOrReport(errs, 'spec.finalizers', ns.spec?.finalizers).forEach((f, i) => {
        if (f === FINALIZER_KUBERNETES) return;
        errs.check(`spec.finalizers[${i}]`, f, typeof f === 'string' ? labelKey(f) : 'must be a string');
      });
    }
    if (isObj(ns.status)) errs.oneOf('status.phase', ns.status.phase, ['Active', 'Terminating']);
    return errs.causes;
  },
};
