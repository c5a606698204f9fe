/**
 * Validation of a PodSpec's securityContext fields that kdp's agent honours (the pod's and each
 * container's), worded as upstream's: user and group ids in 0..2147483647, booleans, capability
 * lists, and the contradictions upstream refuses (privileged or CAP_SYS_ADMIN without privilege
 * escalation). Unlike upstream, an unknown capability name is refused here rather than by the
 * runtime at start, since kdp's runtime is the agent and could only leave the pod waiting.
 */
import { capabilityName } from '../../capabilities.ts';
import { isObj } from '../../json-values.ts';
import { type FieldErrors, listOrReport } from './field-errors.ts';

const MAX_ID = 2147483647;
const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** Checks `<path>.securityContext` and every container's; `spec` is an object. */
export function validateSecurityContexts(
  errs: FieldErrors,
  path: string,
  spec: Record<string, unknown>,
): void {
  validatePodSecurityContext(errs, `${path}.securityContext`, spec.securityContext);
  for (const list of CONTAINER_LISTS) {
    const items = Array.isArray(spec[list]) ? (spec[list] as unknown[]) : [];
    items.forEach((c, i) => {
      if (isObj(c))
        validateContainerSecurityContext(errs, `${path}.${list}[${i}].securityContext`, c.securityContext);
    });
  }
}

function validateId(errs: FieldErrors, field: string, v: unknown): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) errs.invalid(field, v, 'must be an integer');
  else if (v < 0 || v > MAX_ID) errs.invalid(field, v, `must be between 0 and ${MAX_ID}, inclusive`);
}

function validateCommon(errs: FieldErrors, path: string, sc: Record<string, unknown>): void {
  validateId(errs, `${path}.runAsUser`, sc.runAsUser);
  validateId(errs, `${path}.runAsGroup`, sc.runAsGroup);
  errs.bool(`${path}.runAsNonRoot`, sc.runAsNonRoot);
}

function validatePodSecurityContext(errs: FieldErrors, path: string, sc: unknown): void {
  if (sc === undefined || sc === null) return;
  if (!isObj(sc)) return errs.invalid(path, sc, 'must be an object');
  validateCommon(errs, path, sc);
  validateId(errs, `${path}.fsGroup`, sc.fsGroup);
  listOrReport(errs, `${path}.supplementalGroups`, sc.supplementalGroups).forEach((g, i) =>
    validateId(errs, `${path}.supplementalGroups[${i}]`, g),
  );
}

function validateContainerSecurityContext(errs: FieldErrors, path: string, sc: unknown): void {
  if (sc === undefined || sc === null) return;
  if (!isObj(sc)) return errs.invalid(path, sc, 'must be an object');
  validateCommon(errs, path, sc);
  for (const f of ['privileged', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem'] as const)
    errs.bool(`${path}.${f}`, sc[f]);
  const added: string[] = [];
  if (sc.capabilities !== undefined && sc.capabilities !== null) {
    if (!isObj(sc.capabilities)) errs.invalid(`${path}.capabilities`, sc.capabilities, 'must be an object');
    else {
      for (const op of ['add', 'drop'] as const) {
        listOrReport(errs, `${path}.capabilities.${op}`, sc.capabilities[op]).forEach((cap, i) => {
          const field = `${path}.capabilities.${op}[${i}]`;
          if (typeof cap !== 'string') return errs.invalid(field, cap, 'must be a string');
          const name = capabilityName(cap);
          if (name === undefined) {
            errs.invalid(field, cap, 'must be a Linux capability (NET_ADMIN or CAP_NET_ADMIN) or ALL');
          } else if (op === 'add') added.push(name);
        });
      }
    }
  }
  if (sc.allowPrivilegeEscalation === false) {
    if (sc.privileged === true)
      errs.invalid(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true');
    if (added.includes('SYS_ADMIN') || added.includes('ALL'))
      errs.invalid(
        path,
        sc,
        'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN',
      );
  }
}
