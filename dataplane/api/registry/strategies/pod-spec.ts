/**
 * Defaults and validation of a PodSpec, shared by Pods and by the pod templates of Deployments
 * and ReplicaSets (paths differ: `spec` vs `spec.template.spec`).
 */
import { isObj, type Json } from '../../json-values.ts';
import {
  dns1123Label,
  dns1123Subdomain,
  ianaServiceName,
  inRange,
  labelKey,
  portNumber,
  PROTOCOLS,
} from '../validation.ts';
import { type FieldErrors, listOf, listOrReport } from './field-errors.ts';
import { validateLabelMap } from './labels.ts';
import { validateSecurityContexts } from './security-context.ts';

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;
const RESTART_POLICIES = ['Always', 'Never', 'OnFailure'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

export function defaultPodSpec(spec: Json): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const list of CONTAINER_LISTS) {
    for (const c of listOf(spec[list])) {
      if (!isObj(c)) continue;
      if (typeof c.image === 'string') c.imagePullPolicy ??= defaultPullPolicy(c.image);
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.resources ??= {};
      for (const p of listOf(c.ports)) {
        if (!isObj(p)) continue;
        p.protocol ??= 'TCP';
        // On the host network the container's port is the host's port.
        if (spec.hostNetwork === true && p.hostPort === undefined) p.hostPort = p.containerPort;
      }
    }
  }
}

/** Always for `:latest` or an untagged image, IfNotPresent for a fixed tag or digest. */
function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0 || last.slice(colon + 1) === 'latest') return 'Always';
  return 'IfNotPresent';
}

export function validatePodSpec(
  errs: FieldErrors,
  path: string,
  spec: unknown,
  restartPolicies: readonly string[] = RESTART_POLICIES,
): void {
  if (!isObj(spec)) {
    if (spec === undefined) errs.required(`${path}.containers`);
    else errs.invalid(path, spec, 'must be an object');
    return;
  }
  const containers = listOrReport(errs, `${path}.containers`, spec.containers);
  if (containers.length === 0) errs.required(`${path}.containers`);
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  for (const list of CONTAINER_LISTS) {
    listOrReport(errs, `${path}.${list}`, spec[list]).forEach((c, i) => {
      validateContainer(errs, `${path}.${list}[${i}]`, c, names, hostPorts, spec.hostNetwork === true);
    });
  }
  errs.oneOf(`${path}.restartPolicy`, spec.restartPolicy, restartPolicies, true);
  errs.oneOf(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES, true);
  errs.bool(`${path}.hostNetwork`, spec.hostNetwork);
  errs.atLeast(`${path}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 0);
  if (spec.activeDeadlineSeconds !== undefined) {
    errs.check(
      `${path}.activeDeadlineSeconds`,
      spec.activeDeadlineSeconds,
      inRange(spec.activeDeadlineSeconds, 1, 2147483647),
    );
  }
  if (spec.nodeName !== undefined && spec.nodeName !== '') {
    const n = spec.nodeName;
    errs.check(`${path}.nodeName`, n, typeof n === 'string' ? dns1123Subdomain(n) : 'must be a string');
  }
  validateLabelMap(errs, `${path}.nodeSelector`, spec.nodeSelector);
  listOrReport(errs, `${path}.tolerations`, spec.tolerations).forEach((t, i) =>
    validateToleration(errs, `${path}.tolerations[${i}]`, t),
  );
  validateSecurityContexts(errs, path, spec);
}

function validateContainer(
  errs: FieldErrors,
  path: string,
  c: unknown,
  names: Set<string>,
  hostPorts: Set<string>,
  hostNetwork: boolean,
): void {
  if (!isObj(c)) return errs.invalid(path, c, 'must be an object');
  if (typeof c.name !== 'string' || c.name === '') errs.required(`${path}.name`);
  else {
    errs.check(`${path}.name`, c.name, dns1123Label(c.name));
    if (names.has(c.name)) errs.duplicate(`${path}.name`, c.name);
    names.add(c.name);
  }
  if (typeof c.image !== 'string' || c.image.trim() === '') errs.required(`${path}.image`);
  errs.oneOf(`${path}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES);
  errs.stringList(`${path}.command`, c.command);
  errs.stringList(`${path}.args`, c.args);
  const portNames = new Set<string>();
  const portKeys = new Set<string>();
  listOrReport(errs, `${path}.ports`, c.ports).forEach((p, j) => {
    const pp = `${path}.ports[${j}]`;
    if (!isObj(p)) return errs.invalid(pp, p, 'must be an object');
    if (p.name !== undefined && p.name !== '') {
      if (typeof p.name !== 'string') errs.invalid(`${pp}.name`, p.name, 'must be a string');
      else {
        errs.check(`${pp}.name`, p.name, ianaServiceName(p.name));
        if (portNames.has(p.name)) errs.duplicate(`${pp}.name`, p.name);
        portNames.add(p.name);
      }
    }
    if (p.containerPort === undefined) errs.required(`${pp}.containerPort`);
    else errs.check(`${pp}.containerPort`, p.containerPort, portNumber(p.containerPort));
    errs.oneOf(`${pp}.protocol`, p.protocol, PROTOCOLS, true);
    const key = `${String(p.containerPort)}/${String(p.protocol)}`;
    if (portKeys.has(key)) errs.duplicate(pp, { containerPort: p.containerPort, protocol: p.protocol });
    portKeys.add(key);
    if (p.hostPort !== undefined && p.hostPort !== 0) {
      errs.check(`${pp}.hostPort`, p.hostPort, portNumber(p.hostPort));
      const hostKey = `${String(p.hostPort)}/${String(p.protocol)}`;
      if (hostPorts.has(hostKey)) errs.duplicate(`${pp}.hostPort`, hostKey);
      hostPorts.add(hostKey);
      if (hostNetwork && p.hostPort !== p.containerPort) {
        errs.invalid(`${pp}.hostPort`, p.hostPort, 'must match `containerPort` when `hostNetwork` is true');
      }
    }
  });
  listOrReport(errs, `${path}.env`, c.env).forEach((e, j) => {
    if (!isObj(e) || typeof e.name !== 'string' || e.name === '') errs.required(`${path}.env[${j}].name`);
    else if (e.value !== undefined && typeof e.value !== 'string')
      errs.invalid(`${path}.env[${j}].value`, e.value, 'must be a string');
  });
}

function validateToleration(errs: FieldErrors, path: string, t: unknown): void {
  if (!isObj(t)) return errs.invalid(path, t, 'must be an object');
  const key = t.key;
  if (key !== undefined && key !== '') {
    errs.check(`${path}.key`, key, typeof key === 'string' ? labelKey(key) : 'must be a string');
  } else if (t.operator !== 'Exists') {
    errs.invalid(
      `${path}.operator`,
      t.operator ?? '',
      'operator must be Exists when `key` is empty, which means "match all values and all keys"',
    );
  }
  errs.oneOf(`${path}.operator`, t.operator, ['Equal', 'Exists']);
  if (t.operator === 'Exists' && t.value !== undefined && t.value !== '') {
    errs.invalid(`${path}.operator`, t.value, "value must be empty when `operator` is 'Exists'");
  }
  errs.oneOf(`${path}.effect`, t.effect, TAINT_EFFECTS);
}
