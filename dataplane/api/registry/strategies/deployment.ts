/**
 * apps/v1 Deployments: workload rules (workload.ts) plus the rollout strategy, whose surge and
 * unavailability are an integer or a percentage and may not both be zero (nothing could move).
 */
import type { Deployment } from '../../types.ts';
import { isObj, type Json } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import { FieldErrors } from './field-errors.ts';
import { defaultWorkload, validateSelectorUnchanged, validateWorkload } from './workload.ts';

const PERCENT = /^[0-9]+%$/;

export const deploymentStrategy: Strategy<Deployment> = {
  hasGeneration: true,
  statusFields: ['status'],

  default(d) {
    if (d.spec === undefined) d.spec = {} as Deployment['spec'];
    if (!isObj(d.spec)) return;
    const spec = d.spec as Json;
    defaultWorkload(spec);
    if (spec.strategy === undefined) spec.strategy = {};
    if (isObj(spec.strategy)) {
      const strategy = spec.strategy;
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate') {
        if (strategy.rollingUpdate === undefined) strategy.rollingUpdate = {};
        if (isObj(strategy.rollingUpdate)) {
          strategy.rollingUpdate.maxSurge ??= '25%';
          strategy.rollingUpdate.maxUnavailable ??= '25%';
        }
      }
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
  },

  validate(d) {
    const errs = new FieldErrors();
    if (!isObj(d.spec)) {
      errs.invalid('spec', d.spec ?? null, 'must be an object');
      return errs.causes;
    }
    const spec = d.spec as Json;
    validateWorkload(errs, spec, 'deployment');
    validateRollout(errs, spec.strategy);
    errs.atLeast('spec.revisionHistoryLimit', spec.revisionHistoryLimit, 0);
    const pds = spec.progressDeadlineSeconds;
    errs.atLeast('spec.progressDeadlineSeconds', pds, 0);
    const mrs = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
    if (typeof pds === 'number' && pds <= mrs)
      errs.invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds');
    errs.bool('spec.paused', spec.paused);
    return errs.causes;
  },

  validateUpdate(d, old) {
    const errs = new FieldErrors();
    if (isObj(d.spec) && isObj(old.spec)) validateSelectorUnchanged(errs, d.spec as Json, old.spec as Json);
    return errs.causes;
  },
};

function validateRollout(errs: FieldErrors, strategy: unknown): void {
  if (!isObj(strategy)) return errs.invalid('spec.strategy', strategy ?? null, 'must be an object');
  errs.oneOf('spec.strategy.type', strategy.type, ['Recreate', 'RollingUpdate'], true);
  const ru = strategy.rollingUpdate;
  if (strategy.type === 'Recreate') {
    if (ru !== undefined && ru !== null) {
      errs.forbidden(
        'spec.strategy.rollingUpdate',
        "may not be specified when strategy `type` is 'Recreate'",
      );
    }
    return;
  }
  if (strategy.type !== 'RollingUpdate' || !isObj(ru)) return;
  const path = 'spec.strategy.rollingUpdate';
  const surge = intOrPercent(errs, `${path}.maxSurge`, ru.maxSurge);
  const unavailable = intOrPercent(errs, `${path}.maxUnavailable`, ru.maxUnavailable);
  if (typeof ru.maxUnavailable === 'string' && unavailable !== undefined && unavailable > 100) {
    errs.invalid(`${path}.maxUnavailable`, ru.maxUnavailable, 'must not be greater than 100%');
  }
  if (surge === 0 && unavailable === 0) {
    errs.invalid(`${path}.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0');
  }
}

/** The number in an int-or-percent value, or undefined (and a cause) when it is neither. */
function intOrPercent(errs: FieldErrors, field: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  let n: number;
  if (typeof v === 'number' && Number.isInteger(v)) n = v;
  else if (typeof v === 'string' && PERCENT.test(v)) n = Number(v.slice(0, -1));
  else {
    const detail =
      typeof v === 'string'
        ? "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
        : 'must be an integer or a percentage';
    errs.invalid(field, v, detail);
    return undefined;
  }
  if (n < 0) errs.invalid(field, v, 'must be greater than or equal to 0');
  return n;
}
