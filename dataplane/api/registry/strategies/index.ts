/** The strategy of every kind the apiserver serves, keyed by group-resource (resources.ts). */
import type { Strategy } from '../strategy.ts';
import { deploymentStrategy } from './deployment.ts';
import { endpointsStrategy } from './endpoints.ts';
import { endpointSliceStrategy } from './endpointslice.ts';
import { eventStrategy } from './event.ts';
import { namespaceStrategy } from './namespace.ts';
import { nodeStrategy } from './node.ts';
import { podStrategy } from './pod.ts';
import { replicaSetStrategy } from './replicaset.ts';
import { createServiceStrategy } from './service.ts';
import type { ExternalIPPolicy } from './service-external-ips.ts';

export interface StrategyOptions {
  /** Refuse every new Service externalIP (upstream's DenyServiceExternalIPs admission). */
  denyServiceExternalIPs?: boolean;
}

export function createStrategies(opts: StrategyOptions = {}): Record<string, Strategy> {
  const policy: ExternalIPPolicy = { deny: opts.denyServiceExternalIPs };
  return {
    namespaces: namespaceStrategy,
    nodes: nodeStrategy,
    pods: podStrategy,
    services: createServiceStrategy(policy),
    endpoints: endpointsStrategy,
    events: eventStrategy,
    'discovery.k8s.io/endpointslices': endpointSliceStrategy,
    'apps/deployments': deploymentStrategy,
    'apps/replicasets': replicaSetStrategy,
  };
}
