/**
 * Cluster IPs and node ports of Services: what a create or update takes from the allocators,
 * remembered per object so that a failed create or update gives back exactly that, and what an
 * update or delete releases afterwards. Refusals are 422s worded as upstream's.
 */
import { heldClusterIPs, heldNodePorts } from '../../allocators/held.ts';
import { ApiError, invalid } from '../../errors.ts';
import type { Service, StatusCause } from '../../types.ts';
import type { Allocators } from '../allocators-interface.ts';
import { isObj } from '../../json-values.ts';
import { formatValue } from './field-errors.ts';
import { needsClusterIP, needsHealthCheckNodePort, needsNodePorts, specOf } from './service-types.ts';

interface Taken {
  ips: string[];
  ports: number[];
}

/** What prepareForCreate / prepareForUpdate took for an object, until it is stored or rolled back. */
const taken = new WeakMap<Service, Taken>();

/** Allocates what a new Service needs: its cluster IP (unless headless) and node ports. */
export function allocateForCreate(svc: Service, alloc: Allocators): void {
  allocate(svc, alloc, (t) => {
    if (needsClusterIP(svc)) allocateClusterIP(svc, alloc, t);
    allocateNodePorts(svc, alloc, new Set(), t);
  });
}

/**
 * Allocates what an update newly needs: a cluster IP when leaving ExternalName, node ports for
 * new ports or a change to NodePort/LoadBalancer. Ports `old` holds are reused, not allocated.
 */
export function allocateForUpdate(svc: Service, old: Service, alloc: Allocators): void {
  allocate(svc, alloc, (t) => {
    if (needsClusterIP(svc) && !needsClusterIP(old)) allocateClusterIP(svc, alloc, t);
    allocateNodePorts(svc, alloc, new Set(heldNodePorts(old)), t);
  });
}

/** Gives back what the last allocateFor* took for this object (a failed or dry-run write). */
export function rollback(svc: Service, alloc: Allocators): void {
  const t = taken.get(svc);
  if (!t) return;
  taken.delete(svc);
  giveBack(t, alloc);
}

/** After an update is stored: releases what `old` held and `now` does not. */
export function releaseDropped(now: Service, old: Service, alloc: Allocators): void {
  const ips = new Set(heldClusterIPs(now));
  const ports = new Set(heldNodePorts(now));
  for (const ip of heldClusterIPs(old)) if (!ips.has(ip)) alloc.clusterIP.release(ip);
  for (const p of heldNodePorts(old)) if (!ports.has(p)) alloc.nodePort.release(p);
}

export function releaseAll(svc: Service, alloc: Allocators): void {
  for (const ip of heldClusterIPs(svc)) alloc.clusterIP.release(ip);
  for (const p of heldNodePorts(svc)) alloc.nodePort.release(p);
}

function allocate(svc: Service, alloc: Allocators, body: (t: Taken) => void): void {
  const t: Taken = { ips: [], ports: [] };
  try {
    body(t);
  } catch (e) {
    giveBack(t, alloc);
    throw e;
  }
  taken.set(svc, t);
}

function giveBack(t: Taken, alloc: Allocators): void {
  for (const ip of t.ips) alloc.clusterIP.release(ip);
  for (const p of t.ports) alloc.nodePort.release(p);
}

function allocateClusterIP(svc: Service, alloc: Allocators, t: Taken): void {
  const spec = specOf(svc);
  const requested = spec.clusterIP;
  if (requested === 'None') return;
  if (typeof requested === 'string' && requested !== '') {
    const r = alloc.clusterIP.allocate(requested);
    if (!r.ok) {
      throw refuse(
        svc,
        'spec.clusterIPs',
        spec.clusterIPs ?? [requested],
        `failed to allocate IP ${requested}: ${r.reason}`,
      );
    }
    t.ips.push(requested);
    return;
  }
  const ip = alloc.clusterIP.allocateNext();
  if (ip === undefined) throw full('failed to allocate a serviceIP: range is full');
  t.ips.push(ip);
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
}

/**
 * Node ports: requested ones are taken (or reused from `keep`), missing ones allocated when the
 * type needs them. Ports with the same number but different protocols share one node port, as
 * upstream does (a DNS service on TCP and UDP 53 gets one node port).
 */
function allocateNodePorts(svc: Service, alloc: Allocators, keep: Set<number>, t: Taken): void {
  const spec = specOf(svc);
  const ports = Array.isArray(spec.ports) ? spec.ports.filter(isObj) : [];
  const auto = needsNodePorts(svc);
  const mine = new Set<number>();
  const byServicePort = new Map<unknown, number>();
  for (const p of ports) {
    if (isNodePort(p.nodePort) && !byServicePort.has(p.port)) byServicePort.set(p.port, p.nodePort);
  }
  ports.forEach((p, i) => {
    let np = isNodePort(p.nodePort) ? p.nodePort : undefined;
    if (np === undefined) {
      if (!auto) return;
      np = byServicePort.get(p.port);
      if (np === undefined) {
        np = alloc.nodePort.allocateNext();
        if (np === undefined) throw full('failed to allocate a nodePort: range is full');
        t.ports.push(np);
        mine.add(np);
        byServicePort.set(p.port, np);
      }
      p.nodePort = np;
    }
    take(svc, alloc, np, `spec.ports[${i}].nodePort`, keep, mine, t);
  });
  if (!needsHealthCheckNodePort(svc)) return;
  const hc = spec.healthCheckNodePort;
  if (isNodePort(hc)) return take(svc, alloc, hc, 'spec.healthCheckNodePort', keep, new Set(), t);
  const np = alloc.nodePort.allocateNext();
  if (np === undefined) throw full('failed to allocate a healthCheck nodePort: range is full');
  t.ports.push(np);
  spec.healthCheckNodePort = np;
}

/** Takes a specific node port unless this Service already holds it. */
function take(
  svc: Service,
  alloc: Allocators,
  port: number,
  field: string,
  keep: Set<number>,
  mine: Set<number>,
  t: Taken,
): void {
  if (keep.has(port) || mine.has(port)) return;
  const r = alloc.nodePort.allocate(port);
  if (!r.ok) throw refuse(svc, field, port, r.reason);
  t.ports.push(port);
  mine.add(port);
}

function isNodePort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n !== 0;
}

function refuse(svc: Service, field: string, value: unknown, detail: string): ApiError {
  const cause: StatusCause = {
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
  };
  return invalid('Service', svc.metadata.name ?? '', [cause]);
}

function full(what: string): ApiError {
  return new ApiError('InternalError', `Internal error occurred: ${what}`);
}
