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
import { serviceStrategy } from './service.ts';

export function createStrategies(): Record<string, Strategy> {
  return {
    namespaces: namespaceStrategy,
    nodes: nodeStrategy,
    pods: podStrategy,
    services: serviceStrategy,
    endpoints: endpointsStrategy,
    events: eventStrategy,
    'discovery.k8s.io/endpointslices': endpointSliceStrategy,
    'apps/deployments': deploymentStrategy,
    'apps/replicasets': replicaSetStrategy,
  };
}
