/**
 * What Deployments and ReplicaSets share: replicas, a selector that must be non-empty and match
 * the pod template's labels, the template itself (a PodSpec that must restart Always), and a
 * selector that apps/v1 fixes at creation.
 */
import { labelSelectorRequirements, matchRequirements, SelectorError } from '../../selectors.ts';
import type { LabelSelector } from '../../types.ts';
import { deepEqual, isObj, type Json } from '../../json-values.ts';
import { type FieldErrors, listOf } from './field-errors.ts';
import { validateLabelMap, validateLabelSelector } from './labels.ts';
import { defaultPodSpec, validatePodSpec } from './pod-spec.ts';

export function defaultWorkload(spec: Json): void {
  spec.replicas ??= 1;
  if (isObj(spec.template) && isObj(spec.template.spec)) defaultPodSpec(spec.template.spec);
}

export function validateWorkload(errs: FieldErrors, spec: Json, kind: string): void {
  errs.atLeast('spec.replicas', spec.replicas, 0);
  errs.atLeast('spec.minReadySeconds', spec.minReadySeconds, 0);
  const sel = spec.selector;
  let selectorUsable = false;
  if (sel === undefined || sel === null) errs.required('spec.selector');
  else {
    const before = errs.causes.length;
    validateLabelSelector(errs, 'spec.selector', sel);
    const empty =
      isObj(sel) &&
      Object.keys(isObj(sel.matchLabels) ? sel.matchLabels : {}).length === 0 &&
      !listOf(sel.matchExpressions).length;
    if (empty) errs.invalid('spec.selector', sel, `empty selector is invalid for ${kind}`);
    selectorUsable = !empty && errs.causes.length === before;
  }
  const template = spec.template;
  if (!isObj(template)) {
    errs.required('spec.template');
    return;
  }
  const meta = isObj(template.metadata) ? template.metadata : {};
  validateLabelMap(errs, 'spec.template.metadata.labels', meta.labels);
  if (selectorUsable && !selects(sel as LabelSelector, meta.labels)) {
    errs.invalid(
      'spec.template.metadata.labels',
      meta.labels ?? {},
      '`selector` does not match template `labels`',
    );
  }
  validatePodSpec(errs, 'spec.template.spec', template.spec, ['Always']);
}

export function validateSelectorUnchanged(errs: FieldErrors, spec: Json, old: Json): void {
  if (!deepEqual(spec.selector, old.selector))
    errs.invalid('spec.selector', spec.selector ?? null, 'field is immutable');
}

function selects(sel: LabelSelector, labels: unknown): boolean {
  try {
    return matchRequirements(
      labelSelectorRequirements(sel),
      isObj(labels) ? (labels as Record<string, string>) : {},
    );
  } catch (e) {
    if (e instanceof SelectorError) return false;
    throw e;
  }
}
