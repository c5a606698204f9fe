/** core/v1 Events: kdp's controllers record them; only the object they are about is required. */
import type { Event } from '../../types.ts';
import { isObj } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import { FieldErrors } from './field-errors.ts';

export const eventStrategy: Strategy<Event> = {
  validate(ev) {
    const errs = new FieldErrors();
    if (ev.involvedObject === undefined || ev.involvedObject === null) errs.required('involvedObject');
    else if (!isObj(ev.involvedObject))
      errs.invalid('involvedObject', ev.involvedObject, 'must be an object');
    return errs.causes;
  },
};
