/**
 * discovery.k8s.io/v1 EndpointSlices, what kube-proxy reads: address type, at most 1000
 * endpoints of 1 to 100 addresses each, valid for the type, ports with unique names. The
 * address type is fixed once created. IP addresses may not be unspecified, loopback, link-local or
 * multicast (upstream's ValidateEndpointIP): proxies would turn them into DNAT targets.
 */
import type { EndpointSlice } from '../../types.ts';
import { isObj } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import {
  dns1123Label,
  dns1123Subdomain,
  inRange,
  ipv4Address,
  ipv6Address,
  nonSpecialIP,
  PROTOCOLS,
} from '../validation.ts';
import { FieldErrors, listOf, listOrReport } from './field-errors.ts';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 100;

const ADDRESS_CHECK: Record<string, (a: unknown) => string | undefined> = {
  IPv4: (a) => ipv4Address(a) ?? nonSpecialIP(a as string),
  IPv6: (a) => ipv6Address(a) ?? nonSpecialIP(a as string),
  FQDN: (a) => (typeof a === 'string' ? dns1123Subdomain(a) : 'must be a string'),
};

export const endpointSliceStrategy: Strategy<EndpointSlice> = {
  default(slice) {
    for (const p of listOf(slice.ports)) {
      if (!isObj(p)) continue;
      p.name ??= '';
      p.protocol ??= 'TCP';
    }
  },

  validate(slice) {
    const errs = new FieldErrors();
    errs.oneOf('addressType', slice.addressType, ADDRESS_TYPES, true);
    const check = ADDRESS_CHECK[slice.addressType];
    const endpoints = listOrReport(errs, 'endpoints', slice.endpoints);
    if (endpoints.length > MAX_ENDPOINTS) errs.tooMany('endpoints', endpoints.length, MAX_ENDPOINTS);
    endpoints.forEach((ep, i) => {
      const path = `endpoints[${i}]`;
      if (!isObj(ep)) return errs.invalid(path, ep, 'must be an object');
      const addresses = listOrReport(errs, `${path}.addresses`, ep.addresses);
      if (addresses.length === 0) errs.required(`${path}.addresses`, 'must contain at least 1 address');
      if (addresses.length > MAX_ADDRESSES)
        errs.tooMany(`${path}.addresses`, addresses.length, MAX_ADDRESSES);
      if (check) addresses.forEach((a, j) => errs.check(`${path}.addresses[${j}]`, a, check(a)));
      if (ep.conditions !== undefined) {
        if (!isObj(ep.conditions)) errs.invalid(`${path}.conditions`, ep.conditions, 'must be an object');
        else
          for (const c of ['ready', 'serving', 'terminating'])
            errs.bool(`${path}.conditions.${c}`, ep.conditions[c]);
      }
      if (ep.nodeName !== undefined && ep.nodeName !== '') {
        const n = ep.nodeName;
        errs.check(`${path}.nodeName`, n, typeof n === 'string' ? dns1123Subdomain(n) : 'must be a string');
      }
      if (ep.hostname !== undefined && ep.hostname !== '') {
        const h = ep.hostname;
        errs.check(`${path}.hostname`, h, typeof h === 'string' ? dns1123Label(h) : 'must be a string');
      }
    });
    const ports = listOrReport(errs, 'ports', slice.ports);
    if (ports.length > MAX_PORTS) errs.tooMany('ports', ports.length, MAX_PORTS);
    const names = new Set<unknown>();
    ports.forEach((p, i) => {
      const path = `ports[${i}]`;
      if (!isObj(p)) return errs.invalid(path, p, 'must be an object');
      if (p.name !== undefined && p.name !== '') {
        errs.check(
          `${path}.name`,
          p.name,
          typeof p.name === 'string' ? dns1123Label(p.name) : 'must be a string',
        );
      }
      if (names.has(p.name ?? '')) errs.duplicate(`${path}.name`, p.name ?? '');
      names.add(p.name ?? '');
      if (p.port !== undefined && p.port !== null)
        errs.check(`${path}.port`, p.port, inRange(p.port, 0, 65535));
      errs.oneOf(`${path}.protocol`, p.protocol, PROTOCOLS, true);
    });
    return errs.causes;
  },

  validateUpdate(slice, old) {
    const errs = new FieldErrors();
    if (slice.addressType !== old.addressType)
      errs.invalid('addressType', slice.addressType ?? '', 'field is immutable');
    return errs.causes;
  },
};
