/**
 * The strategic-merge-patch metadata of kdp's kinds: which list fields merge by a key (and by
 * which key), which lists of strings merge as sets, instead of being replaced. This is the part
 * of upstream's Go struct tags (patchStrategy, patchMergeKey) that kubectl apply relies on.
 */

export interface FieldPatchInfo {
  /** A list of objects merged by this key (`name` for containers). */
  mergeKey?: string;
  /** A list of strings merged as a set (finalizers). */
  mergeSet?: boolean;
  /** The fields of the list items (for a list) or of the object (for an object field). */
  fields?: PatchSchema;
}

export type PatchSchema = Record<string, FieldPatchInfo>;

const objectMeta: PatchSchema = {
  finalizers: { mergeSet: true },
  ownerReferences: { mergeKey: 'uid' },
};

const container: PatchSchema = {
  ports: { mergeKey: 'containerPort' },
  env: { mergeKey: 'name' },
  volumeMounts: { mergeKey: 'mountPath' },
  volumeDevices: { mergeKey: 'devicePath' },
};

const podSpec: PatchSchema = {
  containers: { mergeKey: 'name', fields: container },
  initContainers: { mergeKey: 'name', fields: container },
  ephemeralContainers: { mergeKey: 'name', fields: container },
  volumes: { mergeKey: 'name' },
  imagePullSecrets: { mergeKey: 'name' },
  hostAliases: { mergeKey: 'ip' },
  topologySpreadConstraints: { mergeKey: 'topologyKey' },
};

const conditions: FieldPatchInfo = { mergeKey: 'type' };

const workload: PatchSchema = {
  metadata: { fields: objectMeta },
  spec: { fields: { template: { fields: { metadata: { fields: objectMeta }, spec: { fields: podSpec } } } } },
  status: { fields: { conditions } },
};

const BY_KIND: Record<string, PatchSchema> = {
  Pod: {
    spec: { fields: podSpec },
    status: { fields: { conditions, podIPs: { mergeKey: 'ip' }, hostIPs: { mergeKey: 'ip' } } },
  },
  Node: {
    spec: { fields: { podCIDRs: { mergeSet: true } } },
    status: { fields: { addresses: { mergeKey: 'type' }, conditions } },
  },
  Service: {
    spec: { fields: { ports: { mergeKey: 'port' } } },
    status: { fields: { conditions } },
  },
  Namespace: { status: { fields: { conditions } } },
  Deployment: workload,
  ReplicaSet: workload,
};

/** The patch schema of a kind; every kind's metadata merges finalizers and owner references. */
export function patchSchemaFor(kind: string): PatchSchema {
  return { metadata: { fields: objectMeta }, ...BY_KIND[kind] };
}
