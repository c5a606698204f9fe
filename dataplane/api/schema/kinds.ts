/**
 * The known-field schema of each served kind (dataplane/api/resources.ts), built from upstream's
 * v1 types: core Namespace, Node, Pod, Service, Endpoints and Event, discovery EndpointSlice,
 * apps Deployment and ReplicaSet.
 */
import { ANY, B, type FieldSchema, I, list, map, S, struct } from './field-schema.ts';
import {
  LABEL_SELECTOR,
  OBJECT_META,
  OBJECT_REFERENCE,
  POD_SPEC,
  POD_STATUS,
  POD_TEMPLATE,
} from './pod-schema.ts';

const STRINGS = list(S);

function kind(fields: Record<string, FieldSchema>): FieldSchema {
  return struct({ apiVersion: S, kind: S, metadata: OBJECT_META, ...fields });
}

const SERVICE_PORT = struct({
  appProtocol: S,
  name: S,
  nodePort: I,
  port: I,
  protocol: S,
  targetPort: 'intOrString',
});

const SERVICE = kind({
  spec: struct({
    allocateLoadBalancerNodePorts: B,
    clusterIP: S,
    clusterIPs: STRINGS,
    externalIPs: STRINGS,
    externalName: S,
    externalTrafficPolicy: S,
    healthCheckNodePort: I,
    internalTrafficPolicy: S,
    ipFamilies: STRINGS,
    ipFamilyPolicy: S,
    loadBalancerClass: S,
    loadBalancerIP: S,
    loadBalancerSourceRanges: STRINGS,
    ports: list(SERVICE_PORT),
    publishNotReadyAddresses: B,
    selector: map(S),
    sessionAffinity: S,
    sessionAffinityConfig: struct({ clientIP: struct({ timeoutSeconds: I }) }),
    trafficDistribution: S,
    type: S,
  }),
  status: struct({
    conditions: list(ANY),
    loadBalancer: struct({ ingress: list(struct({ hostname: S, ip: S, ipMode: S, ports: list(ANY) })) }),
  }),
});

const NAMESPACE = kind({
  spec: struct({ finalizers: STRINGS }),
  status: struct({ conditions: list(ANY), phase: S }),
});

const NODE = kind({
  spec: struct({
    configSource: ANY,
    externalID: S,
    podCIDR: S,
    podCIDRs: STRINGS,
    providerID: S,
    taints: list(struct({ effect: S, key: S, timeAdded: S, value: S })),
    unschedulable: B,
  }),
  status: struct({
    addresses: list(struct({ address: S, type: S })),
    allocatable: map('quantity'),
    capacity: map('quantity'),
    conditions: list(ANY),
    config: ANY,
    daemonEndpoints: ANY,
    declaredFeatures: STRINGS,
    features: ANY,
    images: list(ANY),
    nodeInfo: ANY,
    phase: S,
    runtimeHandlers: list(ANY),
    volumesAttached: list(ANY),
    volumesInUse: STRINGS,
  }),
});

const POD = kind({ spec: POD_SPEC, status: POD_STATUS });

const ENDPOINT_ADDRESS = struct({ hostname: S, ip: S, nodeName: S, targetRef: OBJECT_REFERENCE });
const ENDPOINT_PORT = struct({ appProtocol: S, name: S, port: I, protocol: S });

const ENDPOINTS = kind({
  subsets: list(
    struct({
      addresses: list(ENDPOINT_ADDRESS),
      notReadyAddresses: list(ENDPOINT_ADDRESS),
      ports: list(ENDPOINT_PORT),
    }),
  ),
});

const ENDPOINT_SLICE = kind({
  addressType: S,
  endpoints: list(
    struct({
      addresses: STRINGS,
      conditions: struct({ ready: B, serving: B, terminating: B }),
      deprecatedTopology: map(S),
      hints: ANY,
      hostname: S,
      nodeName: S,
      targetRef: OBJECT_REFERENCE,
      zone: S,
    }),
  ),
  ports: list(ENDPOINT_PORT),
});

const EVENT = kind({
  action: S,
  count: I,
  eventTime: S,
  firstTimestamp: S,
  involvedObject: OBJECT_REFERENCE,
  lastTimestamp: S,
  message: S,
  reason: S,
  related: OBJECT_REFERENCE,
  reportingComponent: S,
  reportingInstance: S,
  series: struct({ count: I, lastObservedTime: S }),
  source: struct({ component: S, host: S }),
  type: S,
});

const WORKLOAD_STATUS: Record<string, FieldSchema> = {
  availableReplicas: I,
  conditions: list(ANY),
  observedGeneration: I,
  readyReplicas: I,
  replicas: I,
  terminatingReplicas: I,
};

const DEPLOYMENT = kind({
  spec: struct({
    minReadySeconds: I,
    paused: B,
    progressDeadlineSeconds: I,
    replicas: I,
    revisionHistoryLimit: I,
    selector: LABEL_SELECTOR,
    strategy: struct({
      rollingUpdate: struct({ maxSurge: 'intOrString', maxUnavailable: 'intOrString' }),
      type: S,
    }),
    template: POD_TEMPLATE,
  }),
  status: struct({ ...WORKLOAD_STATUS, collisionCount: I, unavailableReplicas: I, updatedReplicas: I }),
});

const REPLICA_SET = kind({
  spec: struct({ minReadySeconds: I, replicas: I, selector: LABEL_SELECTOR, template: POD_TEMPLATE }),
  status: struct({ ...WORKLOAD_STATUS, fullyLabeledReplicas: I }),
});

/** Schema by kind name, as ResourceInfo.kind spells it. */
export const KIND_SCHEMAS: Readonly<Record<string, FieldSchema>> = {
  Namespace: NAMESPACE,
  Node: NODE,
  Pod: POD,
  Service: SERVICE,
  Endpoints: ENDPOINTS,
  Event: EVENT,
  EndpointSlice: ENDPOINT_SLICE,
  Deployment: DEPLOYMENT,
  ReplicaSet: REPLICA_SET,
};
