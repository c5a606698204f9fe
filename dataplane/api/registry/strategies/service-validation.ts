/**
 * Validation of Services with upstream's field paths and wording: ports (names, numbers,
 * protocols, target ports, node ports), type-dependent fields, cluster IPs, session affinity,
 * traffic policies, external IPs and the load balancer status.
 */
import type { Service, StatusCause } from '../../types.ts';
import { isObj, type Json } from '../../json-values.ts';
import {
  cidr,
  dns1123Label,
  dns1123Subdomain,
  ipAddress,
  nonSpecialIP,
  portNumber,
  portNumberOrName,
  PROTOCOLS,
} from '../validation.ts';
import { FieldErrors, listOf, listOrReport } from './field-errors.ts';
import { validateLabelMap } from './labels.ts';
import { externallyAccessible, isHeadless, needsClusterIP, specOf } from './service-types.ts';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const AFFINITIES = ['ClientIP', 'None'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const MAX_AFFINITY_TIMEOUT = 86400;

export function validateService(svc: Service): StatusCause[] {
  const errs = new FieldErrors();
  if (!isObj(svc.spec)) {
    errs.invalid('spec', svc.spec ?? null, 'must be an object');
    return errs.causes;
  }
  const spec = specOf(svc);
  errs.oneOf('spec.type', spec.type, SERVICE_TYPES, true);
  validatePorts(errs, svc, spec);
  validateLabelMap(errs, 'spec.selector', spec.selector);
  validateAffinity(errs, spec);
  listOrReport(errs, 'spec.externalIPs', spec.externalIPs).forEach((ip, i) => {
    const err = ipAddress(ip);
    errs.check(`spec.externalIPs[${i}]`, ip, err ?? nonSpecialIP(ip as string));
  });
  validateSourceRanges(errs, spec);
  if (spec.type === 'ExternalName') validateExternalName(errs, spec);
  else validateClusterIPs(errs, spec);
  validateTrafficPolicies(errs, svc, spec);
  if (spec.allocateLoadBalancerNodePorts !== undefined && spec.type !== 'LoadBalancer') {
    errs.forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'");
  }
  errs.bool('spec.allocateLoadBalancerNodePorts', spec.allocateLoadBalancerNodePorts);
  errs.bool('spec.publishNotReadyAddresses', spec.publishNotReadyAddresses);
  if (spec.loadBalancerIP !== undefined && spec.loadBalancerIP !== '') {
    if (spec.type !== 'LoadBalancer')
      errs.forbidden('spec.loadBalancerIP', "may only be used when `type` is 'LoadBalancer'");
    else errs.check('spec.loadBalancerIP', spec.loadBalancerIP, ipAddress(spec.loadBalancerIP));
  }
  validateStatus(errs, svc.status);
  return errs.causes;
}

export function validateServiceUpdate(svc: Service, old: Service): StatusCause[] {
  const errs = new FieldErrors();
  const spec = specOf(svc);
  const prev = specOf(old);
  // The cluster IP is fixed for life, except that leaving or entering ExternalName drops or assigns it.
  if (needsClusterIP(svc) && needsClusterIP(old) && prev.clusterIP && spec.clusterIP !== prev.clusterIP) {
    errs.invalid('spec.clusterIP', spec.clusterIP ?? '', 'field is immutable');
  }
  return errs.causes;
}

function validatePorts(errs: FieldErrors, svc: Service, spec: Json): void {
  const ports = listOrReport(errs, 'spec.ports', spec.ports);
  if (ports.length === 0 && !isHeadless(svc) && spec.type !== 'ExternalName') errs.required('spec.ports');
  const names = new Set<string>();
  const portKeys = new Set<string>();
  const nodePortKeys = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    if (!isObj(p)) return errs.invalid(path, p, 'must be an object');
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1) errs.required(`${path}.name`);
    } else if (typeof p.name !== 'string') errs.invalid(`${path}.name`, p.name, 'must be a string');
    else {
      errs.check(`${path}.name`, p.name, dns1123Label(p.name));
      if (names.has(p.name)) errs.duplicate(`${path}.name`, p.name);
      names.add(p.name);
    }
    errs.check(`${path}.port`, p.port ?? 0, portNumber(p.port));
    errs.oneOf(`${path}.protocol`, p.protocol, PROTOCOLS, true);
    if (p.targetPort !== undefined)
      errs.check(`${path}.targetPort`, p.targetPort, portNumberOrName(p.targetPort));
    const key = `${String(p.port)}/${String(p.protocol)}`;
    if (portKeys.has(key)) errs.duplicate(path, { port: p.port, protocol: p.protocol });
    portKeys.add(key);
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (spec.type === 'ClusterIP' || spec.type === 'ExternalName') {
        errs.forbidden(`${path}.nodePort`, `may not be used when \`type\` is '${spec.type}'`);
      } else if (typeof p.nodePort !== 'number' || !Number.isInteger(p.nodePort) || p.nodePort < 0) {
        errs.invalid(`${path}.nodePort`, p.nodePort, 'must be a valid port number');
      }
      const npKey = `${String(p.nodePort)}/${String(p.protocol)}`;
      if (nodePortKeys.has(npKey)) errs.duplicate(`${path}.nodePort`, p.nodePort);
      nodePortKeys.add(npKey);
    }
  });
}

function validateSourceRanges(errs: FieldErrors, spec: Json): void {
  const ranges = listOrReport(errs, 'spec.loadBalancerSourceRanges', spec.loadBalancerSourceRanges);
  if (ranges.length && spec.type !== 'LoadBalancer') {
    errs.forbidden('spec.loadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'");
  }
  ranges.forEach((r, i) => {
    const err = cidr(typeof r === 'string' ? r.trim() : r);
    if (err) {
      const detail = 'must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ';
      errs.invalid(`spec.loadBalancerSourceRanges[${i}]`, r, detail);
    }
  });
}

function validateAffinity(errs: FieldErrors, spec: Json): void {
  errs.oneOf('spec.sessionAffinity', spec.sessionAffinity, AFFINITIES, true);
  const config = spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const path = 'spec.sessionAffinityConfig.clientIP.timeoutSeconds';
    const clientIP = isObj(config) ? config.clientIP : undefined;
    const timeout = isObj(clientIP) ? clientIP.timeoutSeconds : undefined;
    if (timeout === undefined) errs.required(path);
    else if (
      typeof timeout !== 'number' ||
      !Number.isInteger(timeout) ||
      timeout <= 0 ||
      timeout > MAX_AFFINITY_TIMEOUT
    ) {
      errs.invalid(path, timeout, `must be greater than 0 and less than ${MAX_AFFINITY_TIMEOUT}`);
    }
  } else if (spec.sessionAffinity === 'None' && config !== undefined && config !== null) {
    errs.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None');
  }
}

function validateExternalName(errs: FieldErrors, spec: Json): void {
  const name = spec.externalName;
  const cname = typeof name === 'string' ? name.replace(/\.$/, '') : '';
  if (name !== undefined && typeof name !== 'string')
    errs.invalid('spec.externalName', name, 'must be a string');
  else if (cname === '') errs.required('spec.externalName');
  else errs.check('spec.externalName', name, dns1123Subdomain(cname));
  const forbid = (field: string) =>
    errs.forbidden(`spec.${field}`, 'may not be set for ExternalName services');
  if (listOf(spec.clusterIPs).length > 0) forbid('clusterIPs');
  else if (spec.clusterIP !== undefined && spec.clusterIP !== '') forbid('clusterIP');
  if (listOf(spec.ipFamilies).length > 0) forbid('ipFamilies');
  if (spec.ipFamilyPolicy !== undefined) forbid('ipFamilyPolicy');
}

function validateClusterIPs(errs: FieldErrors, spec: Json): void {
  const ips = listOrReport(errs, 'spec.clusterIPs', spec.clusterIPs);
  if (ips.length > 0 && spec.clusterIP !== ips[0]) {
    errs.invalid('spec.clusterIPs[0]', ips[0], 'must match `clusterIP`');
  }
  if (ips.length > 1) {
    errs.invalid('spec.clusterIPs', ips, "may specify only one IP: kdp's apiserver is single-stack (IPv4)");
  }
  ips.forEach((ip, i) => {
    if (ip === 'None') {
      if (ips.length > 1)
        errs.invalid(`spec.clusterIPs[${i}]`, ip, 'must not be specified with other IPs when `None`');
      return;
    }
    if (ip === '' && i === 0) return;
    errs.check(`spec.clusterIPs[${i}]`, ip, ipAddress(ip));
  });
  listOrReport(errs, 'spec.ipFamilies', spec.ipFamilies).forEach((f, i) => {
    if (f === 'IPv6') errs.invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster');
    else errs.oneOf(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6'], true);
  });
  errs.oneOf('spec.ipFamilyPolicy', spec.ipFamilyPolicy, FAMILY_POLICIES);
  if (spec.ipFamilyPolicy === 'RequireDualStack') {
    errs.invalid(
      'spec.ipFamilyPolicy',
      spec.ipFamilyPolicy,
      'this cluster is not configured for dual-stack services',
    );
  }
}

function validateTrafficPolicies(errs: FieldErrors, svc: Service, spec: Json): void {
  const etp = spec.externalTrafficPolicy;
  if (!externallyAccessible(svc)) {
    if (etp !== undefined && etp !== '') {
      errs.invalid('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services');
    }
  } else errs.oneOf('spec.externalTrafficPolicy', etp, TRAFFIC_POLICIES, true);
  if (spec.type !== 'ExternalName')
    errs.oneOf('spec.internalTrafficPolicy', spec.internalTrafficPolicy, TRAFFIC_POLICIES);
  const hc = spec.healthCheckNodePort;
  if (hc !== undefined && hc !== 0) {
    if (spec.type !== 'LoadBalancer' || etp !== 'Local') {
      errs.invalid(
        'spec.healthCheckNodePort',
        hc,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      );
    } else errs.check('spec.healthCheckNodePort', hc, portNumber(hc));
  }
}

function validateStatus(errs: FieldErrors, status: unknown): void {
  if (status === undefined || status === null) return;
  if (!isObj(status)) return errs.invalid('status', status, 'must be an object');
  const lb = status.loadBalancer;
  if (lb === undefined || lb === null) return;
  if (!isObj(lb)) return errs.invalid('status.loadBalancer', lb, 'must be an object');
  listOrReport(errs, 'status.loadBalancer.ingress', lb.ingress).forEach((ing, i) => {
    const path = `status.loadBalancer.ingress[${i}]`;
    if (!isObj(ing)) return errs.invalid(path, ing, 'must be an object');
    if (ing.ip !== undefined && ing.ip !== '') errs.check(`${path}.ip`, ing.ip, ipAddress(ing.ip));
    if (ing.hostname !== undefined && ing.hostname !== '') {
      const h = ing.hostname;
      if (typeof h !== 'string') errs.invalid(`${path}.hostname`, h, 'must be a string');
      else if (!ipAddress(h)) errs.invalid(`${path}.hostname`, h, 'must be a DNS name, not an IP address');
      else errs.check(`${path}.hostname`, h, dns1123Subdomain(h));
    }
  });
}
