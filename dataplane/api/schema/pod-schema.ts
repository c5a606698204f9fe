/**
 * Known fields of core/v1 PodSpec and what it holds (containers, probes, volumes, security
 * contexts, scheduling constraints), of PodStatus, and of ObjectMeta, as upstream's v1 types
 * define them. Subtrees kdp never reads are `any` (volume sources, affinity terms, statuses of
 * containers), so manifests written for real clusters keep working.
 */
import { ANY, B, type FieldSchema, I, list, map, S, struct } from './field-schema.ts';

const STRINGS = list(S);

export const OWNER_REFERENCE = struct({
  apiVersion: S,
  blockOwnerDeletion: B,
  controller: B,
  kind: S,
  name: S,
  uid: S,
});

export const OBJECT_META = struct({
  annotations: map(S),
  creationTimestamp: S,
  deletionGracePeriodSeconds: I,
  deletionTimestamp: S,
  finalizers: STRINGS,
  generateName: S,
  generation: I,
  labels: map(S),
  managedFields: list(ANY),
  name: S,
  namespace: S,
  ownerReferences: list(OWNER_REFERENCE),
  resourceVersion: S,
  selfLink: S,
  uid: S,
});

export const OBJECT_REFERENCE = struct({
  apiVersion: S,
  fieldPath: S,
  kind: S,
  name: S,
  namespace: S,
  resourceVersion: S,
  uid: S,
});

export const LABEL_SELECTOR = struct({
  matchExpressions: list(struct({ key: S, operator: S, values: STRINGS })),
  matchLabels: map(S),
});

const RESOURCES = struct({
  claims: list(struct({ name: S, request: S })),
  limits: map('quantity'),
  requests: map('quantity'),
});

const HTTP_GET = struct({
  host: S,
  httpHeaders: list(struct({ name: S, value: S })),
  path: S,
  port: 'intOrString',
  scheme: S,
});

const HANDLER_FIELDS = {
  exec: struct({ command: STRINGS }),
  httpGet: HTTP_GET,
  tcpSocket: struct({ host: S, port: 'intOrString' }),
};

const PROBE = struct({
  ...HANDLER_FIELDS,
  grpc: struct({ port: I, service: S }),
  failureThreshold: I,
  initialDelaySeconds: I,
  periodSeconds: I,
  successThreshold: I,
  terminationGracePeriodSeconds: I,
  timeoutSeconds: I,
});

const LIFECYCLE_HANDLER = struct({ ...HANDLER_FIELDS, sleep: struct({ seconds: I }) });

const CONTAINER_SECURITY_CONTEXT = struct({
  allowPrivilegeEscalation: B,
  appArmorProfile: ANY,
  capabilities: struct({ add: STRINGS, drop: STRINGS }),
  privileged: B,
  procMount: S,
  readOnlyRootFilesystem: B,
  runAsGroup: I,
  runAsNonRoot: B,
  runAsUser: I,
  seLinuxOptions: ANY,
  seccompProfile: ANY,
  windowsOptions: ANY,
});

const POD_SECURITY_CONTEXT = struct({
  appArmorProfile: ANY,
  fsGroup: I,
  fsGroupChangePolicy: S,
  runAsGroup: I,
  runAsNonRoot: B,
  runAsUser: I,
  seLinuxChangePolicy: S,
  seLinuxOptions: ANY,
  seccompProfile: ANY,
  supplementalGroups: list(I),
  supplementalGroupsPolicy: S,
  sysctls: list(struct({ name: S, value: S })),
  windowsOptions: ANY,
});

const CONTAINER_FIELDS: Record<string, FieldSchema> = {
  args: STRINGS,
  command: STRINGS,
  env: list(struct({ name: S, value: S, valueFrom: ANY })),
  envFrom: list(ANY),
  image: S,
  imagePullPolicy: S,
  lifecycle: struct({ postStart: LIFECYCLE_HANDLER, preStop: LIFECYCLE_HANDLER, stopSignal: S }),
  livenessProbe: PROBE,
  name: S,
  ports: list(struct({ containerPort: I, hostIP: S, hostPort: I, name: S, protocol: S })),
  readinessProbe: PROBE,
  resizePolicy: list(struct({ resourceName: S, restartPolicy: S })),
  resources: RESOURCES,
  restartPolicy: S,
  securityContext: CONTAINER_SECURITY_CONTEXT,
  startupProbe: PROBE,
  stdin: B,
  stdinOnce: B,
  terminationMessagePath: S,
  terminationMessagePolicy: S,
  tty: B,
  volumeDevices: list(struct({ devicePath: S, name: S })),
  volumeMounts: list(
    struct({
      mountPath: S,
      mountPropagation: S,
      name: S,
      readOnly: B,
      recursiveReadOnly: S,
      subPath: S,
      subPathExpr: S,
    }),
  ),
  workingDir: S,
};

const CONTAINER = struct(CONTAINER_FIELDS);
const EPHEMERAL_CONTAINER = struct({ ...CONTAINER_FIELDS, targetContainerName: S });

/** Volume sources kdp does not interpret: kept whole. */
const VOLUME_SOURCES = [
  'awsElasticBlockStore',
  'azureDisk',
  'azureFile',
  'cephfs',
  'cinder',
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'fc',
  'flexVolume',
  'flocker',
  'gcePersistentDisk',
  'gitRepo',
  'glusterfs',
  'hostPath',
  'image',
  'iscsi',
  'nfs',
  'persistentVolumeClaim',
  'photonPersistentDisk',
  'portworxVolume',
  'projected',
  'quobyte',
  'rbd',
  'scaleIO',
  'secret',
  'storageos',
  'vsphereVolume',
];

const VOLUME = struct({ name: S, ...Object.fromEntries(VOLUME_SOURCES.map((s) => [s, ANY])) });

const TOLERATION = struct({ effect: S, key: S, operator: S, tolerationSeconds: I, value: S });

const TOPOLOGY_SPREAD = struct({
  labelSelector: LABEL_SELECTOR,
  matchLabelKeys: STRINGS,
  maxSkew: I,
  minDomains: I,
  nodeAffinityPolicy: S,
  nodeTaintsPolicy: S,
  topologyKey: S,
  whenUnsatisfiable: S,
});

export const POD_SPEC = struct({
  activeDeadlineSeconds: I,
  affinity: struct({ nodeAffinity: ANY, podAffinity: ANY, podAntiAffinity: ANY }),
  automountServiceAccountToken: B,
  containers: list(CONTAINER),
  dnsConfig: struct({
    nameservers: STRINGS,
    options: list(struct({ name: S, value: S })),
    searches: STRINGS,
  }),
  dnsPolicy: S,
  enableServiceLinks: B,
  ephemeralContainers: list(EPHEMERAL_CONTAINER),
  hostAliases: list(struct({ hostnames: STRINGS, ip: S })),
  hostIPC: B,
  hostNetwork: B,
  hostPID: B,
  hostUsers: B,
  hostname: S,
  imagePullSecrets: list(struct({ name: S })),
  initContainers: list(CONTAINER),
  nodeName: S,
  nodeSelector: map(S),
  os: struct({ name: S }),
  overhead: map('quantity'),
  preemptionPolicy: S,
  priority: I,
  priorityClassName: S,
  readinessGates: list(struct({ conditionType: S })),
  resourceClaims: list(ANY),
  resources: RESOURCES,
  restartPolicy: S,
  runtimeClassName: S,
  schedulerName: S,
  schedulingGates: list(struct({ name: S })),
  securityContext: POD_SECURITY_CONTEXT,
  serviceAccount: S,
  serviceAccountName: S,
  setHostnameAsFQDN: B,
  shareProcessNamespace: B,
  subdomain: S,
  terminationGracePeriodSeconds: I,
  tolerations: list(TOLERATION),
  topologySpreadConstraints: list(TOPOLOGY_SPREAD),
  volumes: list(VOLUME),
});

const IP_ENTRY = list(struct({ ip: S }));

export const POD_STATUS = struct({
  conditions: list(ANY),
  containerStatuses: list(ANY),
  ephemeralContainerStatuses: list(ANY),
  hostIP: S,
  hostIPs: IP_ENTRY,
  initContainerStatuses: list(ANY),
  message: S,
  nominatedNodeName: S,
  observedGeneration: I,
  phase: S,
  podIP: S,
  podIPs: IP_ENTRY,
  qosClass: S,
  reason: S,
  resize: S,
  resourceClaimStatuses: list(ANY),
  startTime: S,
});

export const POD_TEMPLATE = struct({
  metadata: OBJECT_META,
  spec: POD_SPEC,
});
