/**
 * core/v1 Endpoints: subsets of addresses and ports. Addresses must be real pod or node IPs,
 * never loopback or link-local (upstream's rule: a proxy would send traffic to itself).
 */
import type { Endpoints } from '../../types.ts';
import { isObj } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import {
  dns1123Label,
  dns1123Subdomain,
  ipAddress,
  nonSpecialIP,
  portNumber,
  PROTOCOLS,
} from '../validation.ts';
import { FieldErrors, listOf, listOrReport } from './field-errors.ts';

export const endpointsStrategy: Strategy<Endpoints> = {
  default(ep) {
    for (const s of listOf(ep.subsets)) {
      if (!isObj(s)) continue;
      for (const p of listOf(s.ports)) if (isObj(p)) p.protocol ??= 'TCP';
    }
  },

  validate(ep) {
    const errs = new FieldErrors();
    listOrReport(errs, 'subsets', ep.subsets).forEach((s, i) => {
      const path = `subsets[${i}]`;
      if (!isObj(s)) return errs.invalid(path, s, 'must be an object');
      for (const kind of ['addresses', 'notReadyAddresses'] as const) {
        listOrReport(errs, `${path}.${kind}`, s[kind]).forEach((a, j) =>
          validateAddress(errs, `${path}.${kind}[${j}]`, a),
        );
      }
      const ports = listOrReport(errs, `${path}.ports`, s.ports);
      const names = new Set<unknown>();
      ports.forEach((p, j) => {
        const pp = `${path}.ports[${j}]`;
        if (!isObj(p)) return errs.invalid(pp, p, 'must be an object');
        if (p.name === undefined || p.name === '') {
          if (ports.length > 1) errs.required(`${pp}.name`);
        } else {
          errs.check(
            `${pp}.name`,
            p.name,
            typeof p.name === 'string' ? dns1123Label(p.name) : 'must be a string',
          );
          if (names.has(p.name)) errs.duplicate(`${pp}.name`, p.name);
          names.add(p.name);
        }
        errs.check(`${pp}.port`, p.port ?? 0, portNumber(p.port));
        errs.oneOf(`${pp}.protocol`, p.protocol, PROTOCOLS, true);
      });
    });
    return errs.causes;
  },
};

function validateAddress(errs: FieldErrors, path: string, a: unknown): void {
  if (!isObj(a)) return errs.invalid(path, a, 'must be an object');
  const err = ipAddress(a.ip);
  errs.check(`${path}.ip`, a.ip ?? '', err ?? nonSpecialIP(a.ip as string));
  if (a.hostname !== undefined && a.hostname !== '') {
    errs.check(
      `${path}.hostname`,
      a.hostname,
      typeof a.hostname === 'string' ? dns1123Label(a.hostname) : 'must be a string',
    );
  }
  if (a.nodeName !== undefined && a.nodeName !== '') {
    errs.check(
      `${path}.nodeName`,
      a.nodeName,
      typeof a.nodeName === 'string' ? dns1123Subdomain(a.nodeName) : 'must be a string',
    );
  }
}
