/**
 * Nodes: pod CIDRs (the node IPAM controller assigns them once; after that they are fixed, as
 * flannel and kube-proxy rely on), addresses and taints.
 */
import type { Node } from '../../types.ts';
import { deepEqual, isObj, type Json } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import { cidr, dns1123Subdomain, labelKey } from '../validation.ts';
import { FieldErrors, listOf, listOrReport } from './field-errors.ts';

const ADDRESS_TYPES = ['ExternalDNS', 'ExternalIP', 'Hostname', 'InternalDNS', 'InternalIP'];
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

export const nodeStrategy: Strategy<Node> = {
  statusFields: ['status'],

  default(node) {
    if (node.spec === undefined) node.spec = {};
    if (!isObj(node.spec)) return;
    // v1 carries the pod CIDR both singly and as a list; keep them in step as conversion does.
    const spec = node.spec as Json;
    const list = spec.podCIDRs;
    if (typeof spec.podCIDR === 'string' && spec.podCIDR !== '' && (!Array.isArray(list) || !list.length)) {
      spec.podCIDRs = [spec.podCIDR];
    } else if (Array.isArray(list) && list.length && !spec.podCIDR) spec.podCIDR = list[0];
  },

  validate(node) {
    const errs = new FieldErrors();
    if (!isObj(node.spec)) {
      errs.invalid('spec', node.spec ?? null, 'must be an object');
      return errs.causes;
    }
    const spec = node.spec as Json;
    const cidrs = listOrReport(errs, 'spec.podCIDRs', spec.podCIDRs);
    cidrs.forEach((c, i) => {
      errs.check(`spec.podCIDRs[${i}]`, c, cidr(c));
      if (cidrs.indexOf(c) !== i) errs.duplicate(`spec.podCIDRs[${i}]`, c);
    });
    if (cidrs.length > 2) errs.tooMany('spec.podCIDRs', cidrs.length, 2);
    if (cidrs.length && spec.podCIDR !== cidrs[0])
      errs.invalid('spec.podCIDR', spec.podCIDR ?? '', 'must match `podCIDRs[0]`');
    errs.bool('spec.unschedulable', spec.unschedulable);
    listOrReport(errs, 'spec.taints', spec.taints).forEach((t, i) => {
      const path = `spec.taints[${i}]`;
      if (!isObj(t)) return errs.invalid(path, t, 'must be an object');
      if (typeof t.key !== 'string' || t.key === '') errs.required(`${path}.key`);
      else errs.check(`${path}.key`, t.key, labelKey(t.key));
      errs.oneOf(`${path}.effect`, t.effect, TAINT_EFFECTS, true);
    });
    if (node.status !== undefined) {
      if (!isObj(node.status)) errs.invalid('status', node.status, 'must be an object');
      else validateAddresses(errs, node.status.addresses);
    }
    return errs.causes;
  },

  validateUpdate(node, old) {
    const errs = new FieldErrors();
    const before = listOf(isObj(old.spec) ? old.spec.podCIDRs : undefined);
    const after = listOf(isObj(node.spec) ? node.spec.podCIDRs : undefined);
    if (before.length && !deepEqual(before, after)) {
      errs.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid');
    }
    return errs.causes;
  },
};

function validateAddresses(errs: FieldErrors, addresses: unknown): void {
  listOrReport(errs, 'status.addresses', addresses).forEach((a, i) => {
    const path = `status.addresses[${i}]`;
    if (!isObj(a)) return errs.invalid(path, a, 'must be an object');
    errs.oneOf(`${path}.type`, a.type, ADDRESS_TYPES, true);
    if (typeof a.address !== 'string' || a.address === '') errs.required(`${path}.address`);
    else if (a.type === 'Hostname' || a.type === 'InternalDNS' || a.type === 'ExternalDNS') {
      errs.check(`${path}.address`, a.address, dns1123Subdomain(a.address));
    }
  });
}
