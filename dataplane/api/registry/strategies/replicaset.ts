/** apps/v1 ReplicaSets: replicas, selector and pod template (see workload.ts). */
import type { ReplicaSet } from '../../types.ts';
import { isObj, type Json } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import { FieldErrors } from './field-errors.ts';
import { defaultWorkload, validateSelectorUnchanged, validateWorkload } from './workload.ts';

export const replicaSetStrategy: Strategy<ReplicaSet> = {
  hasGeneration: true,
  statusFields: ['status'],

  default(rs) {
    if (rs.spec === undefined) rs.spec = {} as ReplicaSet['spec'];
    if (isObj(rs.spec)) defaultWorkload(rs.spec as Json);
  },

  validate(rs) {
    const errs = new FieldErrors();
    if (!isObj(rs.spec)) errs.invalid('spec', rs.spec ?? null, 'must be an object');
    else validateWorkload(errs, rs.spec as Json, 'replicaset');
    return errs.causes;
  },

  validateUpdate(rs, old) {
    const errs = new FieldErrors();
    if (isObj(rs.spec) && isObj(old.spec)) validateSelectorUnchanged(errs, rs.spec as Json, old.spec as Json);
    return errs.causes;
  },
};
