/**
 * The externalIPs policy (the CVE-2020-8554 class: a Service's externalIPs capture traffic for
 * any address on every node). Whatever the options, an externalIP may not lie in the service
 * CIDR, so it can never shadow another Service's cluster IP; the special ranges are refused by
 * validation. With `deny` (upstream's DenyServiceExternalIPs admission plugin) a Service may not
 * add any externalIP at all: 403 Forbidden, while updates that keep or drop existing ones pass.
 */
import { ApiError } from '../../errors.ts';
import type { Service, StatusCause } from '../../types.ts';
import { isObj } from '../../json-values.ts';
import type { StrategyContext } from '../strategy.ts';
import { cidrContains, ipAddress } from '../validation.ts';
import { FieldErrors, listOf } from './field-errors.ts';

export interface ExternalIPPolicy {
  /** Refuse every new externalIP (upstream's DenyServiceExternalIPs). */
  deny?: boolean;
}

function externalIPs(svc: Service | undefined): unknown[] {
  return listOf(isObj(svc?.spec) ? svc.spec.externalIPs : undefined);
}

/** Throws 403 when the policy denies externalIPs and `svc` adds one `old` did not have. */
export function admitExternalIPs(policy: ExternalIPPolicy, svc: Service, old?: Service): void {
  if (!policy.deny) return;
  const before = new Set(externalIPs(old));
  if (externalIPs(svc).every((ip) => before.has(ip))) return;
  const name = svc.metadata.name ?? '';
  throw new ApiError(
    'Forbidden',
    `services "${name}" is forbidden: use of external IPs is denied by admission control`,
    { kind: 'services', name },
  );
}

/** An externalIP inside the service CIDR could equal any Service's cluster IP: refused. */
export function validateExternalIPRange(svc: Service, ctx: StrategyContext): StatusCause[] {
  const errs = new FieldErrors();
  const serviceCIDR = ctx.allocators.clusterIP.cidr;
  externalIPs(svc).forEach((ip, i) => {
    if (ipAddress(ip) || !cidrContains(serviceCIDR, ip as string)) return;
    errs.invalid(
      `spec.externalIPs[${i}]`,
      ip,
      `may not be in the service CIDR ${serviceCIDR} (it would capture traffic for a Service's cluster IP)`,
    );
  });
  return errs.causes;
}
