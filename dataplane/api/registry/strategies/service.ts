/**
 * Services: upstream's defaults, cluster IP and node port allocation, and the update rules that
 * go with them (allocated values carried over when a client leaves them out, type-dependent
 * fields dropped when the type changes, releases once the change is stored).
 */
import type { Service } from '../../types.ts';
import { deepEqual, isObj, type Json } from '../../json-values.ts';
import type { Strategy } from '../strategy.ts';
import { listOf } from './field-errors.ts';
import {
  allocateForCreate,
  allocateForUpdate,
  releaseAll,
  releaseDropped,
  rollback,
} from './service-allocation.ts';
import {
  externallyAccessible,
  needsClusterIP,
  needsHealthCheckNodePort,
  needsNodePorts,
  specOf,
} from './service-types.ts';
import { admitExternalIPs, type ExternalIPPolicy, validateExternalIPRange } from './service-external-ips.ts';
import { validateService, validateServiceUpdate } from './service-validation.ts';

/** Upstream's default ClientIP affinity timeout: three hours. */
const DEFAULT_AFFINITY_TIMEOUT = 10800;

export const serviceStrategy: Strategy<Service> = createServiceStrategy();

/** The Service strategy under an externalIPs policy (admission runs before any allocation). */
export function createServiceStrategy(policy: ExternalIPPolicy = {}): Strategy<Service> {
  return {
    statusFields: ['status'],

    default(svc) {
      if (svc.spec === undefined) svc.spec = {};
      if (!isObj(svc.spec)) return;
      const spec = svc.spec as Json;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.sessionAffinity === 'ClientIP') {
        if (!isObj(spec.sessionAffinityConfig)) spec.sessionAffinityConfig = {};
        const config = spec.sessionAffinityConfig as Json;
        if (!isObj(config.clientIP)) config.clientIP = {};
        (config.clientIP as Json).timeoutSeconds ??= DEFAULT_AFFINITY_TIMEOUT;
      }
      for (const p of listOf(spec.ports)) {
        if (!isObj(p)) continue;
        p.protocol ??= 'TCP';
        if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
      }
      if (needsClusterIP(svc)) {
        const ips = spec.clusterIPs;
        if (
          typeof spec.clusterIP === 'string' &&
          spec.clusterIP !== '' &&
          (!Array.isArray(ips) || !ips.length)
        ) {
          spec.clusterIPs = [spec.clusterIP];
        } else if (
          Array.isArray(ips) &&
          ips.length &&
          (spec.clusterIP === undefined || spec.clusterIP === '')
        ) {
          spec.clusterIP = ips[0];
        }
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      if (externallyAccessible(svc)) spec.externalTrafficPolicy ??= 'Cluster';
      if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
    },

    prepareForCreate(svc, ctx) {
      admitExternalIPs(policy, svc);
      // Allocation runs before validation; a malformed Service allocates nothing and validate reports it.
      if (validateService(svc).length) return;
      allocateForCreate(svc, ctx.allocators);
    },

    rollbackCreate(svc, ctx) {
      rollback(svc, ctx.allocators);
    },

    prepareForUpdate(svc, old, ctx) {
      admitExternalIPs(policy, svc, old);
      carryOverAllocations(svc, old);
      dropTypeDependentFields(svc, old);
      if (validateService(svc).length || validateServiceUpdate(svc, old).length) return;
      allocateForUpdate(svc, old, ctx.allocators);
    },

    rollbackUpdate(svc, _old, ctx) {
      rollback(svc, ctx.allocators);
    },

    afterUpdate(svc, old, ctx) {
      releaseDropped(svc, old, ctx.allocators);
    },

    afterDelete(svc, ctx) {
      releaseAll(svc, ctx.allocators);
    },

    validate: (svc, ctx) => [...validateService(svc), ...validateExternalIPRange(svc, ctx)],
    validateUpdate: validateServiceUpdate,
  };
}

/**
 * A client that PUTs a manifest without the allocated values (kubectl replace, an apply that
 * never saw them) keeps them: the cluster IP, node ports matched by port name, and the health
 * check node port, as long as the type still needs them.
 */
function carryOverAllocations(svc: Service, old: Service): void {
  const spec = specOf(svc);
  const prev = specOf(old);
  if (needsClusterIP(old) && needsClusterIP(svc)) {
    if ((spec.clusterIP === undefined || spec.clusterIP === '') && listOf(spec.clusterIPs).length === 0) {
      spec.clusterIP = prev.clusterIP;
      spec.clusterIPs = structuredClone(prev.clusterIPs);
    }
  }
  if (needsNodePorts(old) && needsNodePorts(svc)) {
    const ports = listOf(spec.ports).filter(isObj);
    const inNew = new Set(ports.map((p) => p.nodePort));
    const byName = new Map<unknown, unknown>();
    for (const p of listOf(prev.ports).filter(isObj)) byName.set(p.name ?? '', p.nodePort);
    for (const p of ports) {
      if (p.nodePort !== undefined && p.nodePort !== 0) continue;
      const was = byName.get(p.name ?? '');
      if (was !== undefined && !inNew.has(was)) p.nodePort = was;
    }
  }
  if (needsHealthCheckNodePort(old) && needsHealthCheckNodePort(svc) && !spec.healthCheckNodePort) {
    spec.healthCheckNodePort = prev.healthCheckNodePort;
  }
}

/**
 * When the type changes so that a field no longer applies, and the client left that field as it
 * was (it was probably filled by the server), the field goes: ClusterIP -> ExternalName drops
 * the cluster IP, NodePort -> ClusterIP drops the node ports. They are released after the update.
 */
function dropTypeDependentFields(svc: Service, old: Service): void {
  const spec = specOf(svc);
  const prev = specOf(old);
  const same = (f: string) => deepEqual(spec[f], prev[f]);
  if (needsClusterIP(old) && !needsClusterIP(svc)) {
    if (same('clusterIP') && same('clusterIPs')) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    for (const f of ['ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy']) if (same(f)) delete spec[f];
  }
  if (needsNodePorts(old) && !needsNodePorts(svc)) {
    const ports = listOf(spec.ports).filter(isObj);
    const prevPorts = listOf(prev.ports).filter(isObj);
    const sameNodePorts =
      ports.length === prevPorts.length &&
      ports.every((p, i) => (p.nodePort ?? 0) === (prevPorts[i].nodePort ?? 0));
    if (sameNodePorts) for (const p of ports) delete p.nodePort;
  }
  if (needsHealthCheckNodePort(old) && !needsHealthCheckNodePort(svc) && same('healthCheckNodePort')) {
    delete spec.healthCheckNodePort;
  }
  if (prev.type === 'LoadBalancer' && spec.type !== 'LoadBalancer' && same('allocateLoadBalancerNodePorts')) {
    delete spec.allocateLoadBalancerNodePorts;
  }
  if (externallyAccessible(old) && !externallyAccessible(svc) && same('externalTrafficPolicy')) {
    delete spec.externalTrafficPolicy;
  }
}
