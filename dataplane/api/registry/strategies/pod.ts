/**
 * Pods: PodSpec defaults and validation, status addresses, and upstream's update rule that a
 * running pod's spec is fixed except for images, activeDeadlineSeconds and new tolerations.
 * kdp's scheduler binds by update, so spec.nodeName may also go from empty to a node, once.
 */
import type { Pod } from '../../types.ts';
import { deepEqual, isObj, type Json } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import { ipAddress } from '../validation.ts';
import { FieldErrors, listOf, listOrReport } from './field-errors.ts';
import { defaultPodSpec, validatePodSpec } from './pod-spec.ts';

const PHASES = ['Failed', 'Pending', 'Running', 'Succeeded', 'Unknown'];

const IMMUTABLE_SPEC_MESSAGE =
  'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, ' +
  '`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) and ' +
  '`spec.nodeName` (only to bind an unscheduled pod)';

export const podStrategy: Strategy<Pod> = {
  statusFields: ['status'],

  default(pod) {
    if (pod.spec === undefined) pod.spec = {} as Pod['spec'];
    if (isObj(pod.spec)) defaultPodSpec(pod.spec);
    if (isObj(pod.status)) {
      mirrorIPs(pod.status, 'podIP', 'podIPs');
      mirrorIPs(pod.status, 'hostIP', 'hostIPs');
    }
  },

  prepareForCreate(pod) {
    if (!isObj(pod.status)) pod.status = {};
    pod.status.phase ??= 'Pending';
  },

  validate(pod) {
    const errs = new FieldErrors();
    validatePodSpec(errs, 'spec', pod.spec);
    if (pod.status !== undefined) validatePodStatus(errs, pod.status);
    return errs.causes;
  },

  validateUpdate(pod, old) {
    const errs = new FieldErrors();
    if (!isObj(pod.spec) || !isObj(old.spec)) return errs.causes;
    const next = pod.spec as Json;
    const prev = old.spec as Json;
    if (prev.nodeName && next.nodeName !== prev.nodeName) {
      errs.invalid(
        'spec.nodeName',
        next.nodeName ?? '',
        'field is immutable once the pod is bound to a node',
      );
    }
    if (!deepEqual(withMutableFieldsFrom(next, prev, errs), prev))
      errs.forbidden('spec', IMMUTABLE_SPEC_MESSAGE);
    return errs.causes;
  },
};

/** `next` with the fields an update may change taken from `prev`, so what is left must be equal. */
function withMutableFieldsFrom(next: Json, prev: Json, errs: FieldErrors): Json {
  const out: Json = structuredClone(next);
  for (const list of ['containers', 'initContainers'] as const) {
    const a = listOf(out[list]);
    const b = listOf(prev[list]);
    if (a.length !== b.length) continue;
    a.forEach((c, i) => {
      const o = b[i];
      if (isObj(c) && isObj(o)) c.image = o.image;
    });
  }
  const ads = out.activeDeadlineSeconds;
  const prevAds = prev.activeDeadlineSeconds;
  if (typeof prevAds === 'number' && ads === undefined) {
    errs.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value');
  } else if (typeof prevAds === 'number' && typeof ads === 'number' && ads > prevAds) {
    errs.invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value');
  }
  out.activeDeadlineSeconds = prevAds;
  const tolerations = listOf(out.tolerations);
  if (listOf(prev.tolerations).every((t) => tolerations.some((n) => deepEqual(n, t)))) {
    out.tolerations = prev.tolerations;
  }
  // Binding (empty to a node) is allowed; moving a bound pod is reported on its own.
  out.nodeName = prev.nodeName;
  return out;
}

/** The v1 API carries an address both singly and as a list; keep them in step as conversion does. */
function mirrorIPs(status: Json, single: string, plural: string): void {
  const list = status[plural];
  if (typeof status[single] === 'string' && status[single] !== '' && (!Array.isArray(list) || !list.length)) {
    status[plural] = [{ ip: status[single] }];
  } else if (Array.isArray(list) && isObj(list[0]) && !status[single]) {
    status[single] = list[0].ip;
  }
}

function validatePodStatus(errs: FieldErrors, status: unknown): void {
  if (!isObj(status)) return errs.invalid('status', status, 'must be an object');
  errs.oneOf('status.phase', status.phase, PHASES);
  for (const [single, plural] of [
    ['podIP', 'podIPs'],
    ['hostIP', 'hostIPs'],
  ] as const) {
    const one = status[single];
    if (one !== undefined && one !== '') errs.check(`status.${single}`, one, ipAddress(one));
    const seen = new Set<string>();
    const list = listOrReport(errs, `status.${plural}`, status[plural]);
    list.forEach((x, i) => {
      const ip = isObj(x) ? x.ip : undefined;
      errs.check(`status.${plural}[${i}].ip`, ip, ipAddress(ip));
      if (typeof ip === 'string' && seen.has(ip)) errs.duplicate(`status.${plural}[${i}].ip`, ip);
      if (typeof ip === 'string') seen.add(ip);
    });
    if (list.length > 2) errs.tooMany(`status.${plural}`, list.length, 2);
    if (one && isObj(list[0]) && list[0].ip !== one) {
      errs.invalid(`status.${plural}[0].ip`, list[0].ip, `must match \`status.${single}\``);
    }
  }
}
