/**
 * A real Registry over an in-memory Store with kdp's strategies and allocators, for the
 * strategy tests, plus helpers to read the causes of a 422.
 */
import assert from 'node:assert/strict';
import { createAllocators, type RebuildableAllocators } from '../../../dataplane/api/allocators/index.ts';
import { ApiError } from '../../../dataplane/api/errors.ts';
import { findResource, type ResourceInfo } from '../../../dataplane/api/resources.ts';
import { Registry } from '../../../dataplane/api/registry/generic-registry.ts';
import { createStrategies } from '../../../dataplane/api/registry/strategies/index.ts';
import { Store } from '../../../dataplane/api/store/store.ts';
import type { StatusCause } from '../../../dataplane/api/types.ts';

export function resource(name: string, group = ''): ResourceInfo {
  const info = findResource(group, name);
  assert.ok(info, `no resource ${group}/${name}`);
  return info;
}

export const NAMESPACES = resource('namespaces');
export const NODES = resource('nodes');
export const PODS = resource('pods');
export const SERVICES = resource('services');
export const ENDPOINTS = resource('endpoints');
export const EVENTS = resource('events');
export const SLICES = resource('endpointslices', 'discovery.k8s.io');
export const DEPLOYMENTS = resource('deployments', 'apps');
export const REPLICASETS = resource('replicasets', 'apps');

export interface Fixture {
  registry: Registry;
  store: Store;
  allocators: RebuildableAllocators;
}

export function newRegistry(
  opts: { serviceCIDR?: string; nodePorts?: { first: number; last: number } } = {},
): Fixture {
  const allocators = createAllocators({
    serviceCIDR: opts.serviceCIDR ?? '10.96.0.0/16',
    nodePortRange: opts.nodePorts ?? { first: 30000, last: 32767 },
  });
  const store = new Store();
  const registry = new Registry(store, createStrategies(), allocators);
  registry.create(NAMESPACES, '', { metadata: { name: 'default' } });
  return { registry, store, allocators };
}

/** Runs `fn`, which must fail with a 422, and returns its causes. */
export function invalidCauses(fn: () => unknown): StatusCause[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.reason, 'Invalid', e.message);
    assert.equal(e.httpCode, 422);
    return e.status.details?.causes ?? [];
  }
  assert.fail('expected a 422 Invalid');
}

/** The cause for `field`, which must exist. */
export function causeFor(causes: StatusCause[], field: string): StatusCause {
  const c = causes.find((x) => x.field === field);
  assert.ok(c, `no cause for ${field} in ${JSON.stringify(causes)}`);
  return c;
}

export function expectApiError(fn: () => unknown, reason: string): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected ${reason}`);
}
