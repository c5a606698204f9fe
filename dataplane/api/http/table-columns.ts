/**
 * The columns `kubectl get` shows for the core kinds (pods, services, nodes, namespaces,
 * endpoints, endpointslices), computed on the server as upstream's printers do: kubectl asks for a
 * Table and prints what it gets. Priority-1 columns are the extra ones `-o wide` shows. Cells say
 * "<none>", "<pending>" and "<unknown>" where upstream does. Workloads and events are in
 * table-columns-apps.ts; the kind-to-printer map is in table-rendering.ts.
 */
import type { EndpointSlice, Endpoints, KubeObject, Namespace, Node, Pod, Service } from '../types.ts';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface KindPrinter {
  columns: ColumnDefinition[];
  cells(obj: KubeObject, now: number): unknown[];
}

export function col(
  name: string,
  description: string,
  more: Partial<ColumnDefinition> = {},
): ColumnDefinition {
  return { name, type: 'string', format: '', description, priority: 0, ...more };
}

export const NAME = col('Name', 'Name must be unique within a namespace.', { format: 'name' });
export const AGE = col('Age', 'Time since the object was created (its creationTimestamp).');
export const wide = (c: ColumnDefinition): ColumnDefinition => ({ ...c, priority: 1 });

/** How long ago, in upstream's short human form: 42s, 5m10s, 3h, 2d4h, 1y. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

export const orNone = (s: string | undefined): string => (s ? s : '<none>');

function joinSelector(sel: Record<string, string> | undefined): string {
  const terms = Object.entries(sel ?? {}).map(([k, v]) => `${k}=${v}`);
  return terms.length ? terms.join(',') : '<none>';
}

/** At most `max` entries, then " + N more...", as upstream abbreviates long lists. */
export function abbreviate(list: string[], max = 3): string {
  if (list.length <= max) return list.join(',');
  return `${list.slice(0, max).join(',')} + ${list.length - max} more...`;
}

interface ContainerStatus {
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string };
    terminated?: { reason?: string; exitCode?: number; signal?: number };
  };
}

function podStatusReason(pod: Pod): string {
  let reason = (pod.status?.reason as string | undefined) || pod.status?.phase || 'Pending';
  for (const cs of (pod.status?.containerStatuses ?? []) as ContainerStatus[]) {
    const waiting = cs.state?.waiting?.reason;
    const term = cs.state?.terminated;
    if (waiting) reason = waiting;
    else if (term) {
      if (term.reason) reason = term.reason;
      else if (term.signal) reason = `Signal:${term.signal}`;
      else reason = `ExitCode:${term.exitCode ?? 0}`;
    }
  }
  if (pod.metadata.deletionTimestamp) reason = pod.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

export const pods: KindPrinter = {
  columns: [
    NAME,
    col('Ready', 'The number of ready containers out of all containers.'),
    col('Status', 'The phase of the pod, or why it is not running.'),
    col('Restarts', 'The number of times the containers have restarted.'),
    AGE,
    wide(col('IP', 'The IP address allocated to the pod.')),
    wide(col('Node', 'The node the pod is bound to.')),
    wide(col('Nominated Node', 'The node the scheduler nominated for preemption.')),
    wide(col('Readiness Gates', 'Readiness gates that are true out of all readiness gates.')),
  ],
  cells(obj, now) {
    const pod = obj as Pod;
    const statuses = (pod.status?.containerStatuses ?? []) as ContainerStatus[];
    const ready = statuses.filter((c) => c.ready).length;
    const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
    const gates = (pod.spec.readinessGates ?? []) as { conditionType: string }[];
    const trueGates = gates.filter((g) =>
      pod.status?.conditions?.some((c) => c.type === g.conditionType && c.status === 'True'),
    ).length;
    return [
      pod.metadata.name,
      `${ready}/${pod.spec.containers?.length ?? 0}`,
      podStatusReason(pod),
      String(restarts),
      age(pod.metadata.creationTimestamp, now),
      orNone(pod.status?.podIP),
      orNone(pod.spec.nodeName),
      orNone(pod.status?.nominatedNodeName as string | undefined),
      gates.length ? `${trueGates}/${gates.length}` : '<none>',
    ];
  },
};

function serviceExternalIP(svc: Service): string {
  const external = svc.spec.externalIPs ?? [];
  switch (svc.spec.type) {
    case 'ExternalName':
      return orNone(svc.spec.externalName);
    case 'LoadBalancer': {
      const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '');
      const all = [...ingress.filter((x) => x), ...external];
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return external.length ? external.join(',') : '<none>';
  }
}

export const services: KindPrinter = {
  columns: [
    NAME,
    col('Type', 'The type of the service: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
    col('Cluster-IP', 'The virtual IP address of the service.'),
    col('External-IP', 'External addresses of the service.'),
    col('Port(s)', 'The ports the service exposes, with node ports.'),
    AGE,
    wide(col('Selector', 'The label selector choosing the service endpoints.')),
  ],
  cells(obj, now) {
    const svc = obj as Service;
    const ports = (svc.spec.ports ?? []).map(
      (p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`,
    );
    return [
      svc.metadata.name,
      svc.spec.type ?? 'ClusterIP',
      orNone(svc.spec.clusterIP),
      serviceExternalIP(svc),
      ports.length ? ports.join(',') : '<none>',
      age(svc.metadata.creationTimestamp, now),
      joinSelector(svc.spec.selector),
    ];
  },
};

function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const parts = [
    ready
      ? ready.status === 'True'
        ? 'Ready'
        : ready.status === 'False'
          ? 'NotReady'
          : 'Unknown'
      : 'Unknown',
  ];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

export const nodes: KindPrinter = {
  columns: [
    NAME,
    col('Status', 'Whether the node is ready, and schedulable.'),
    col('Roles', 'The roles of the node, from its node-role.kubernetes.io/ labels.'),
    AGE,
    col('Version', 'The kubelet version the node reports.'),
    wide(col('Internal-IP', 'The internal address of the node.')),
    wide(col('External-IP', 'The external address of the node.')),
    wide(col('OS-Image', 'The operating system image the node reports.')),
    wide(col('Kernel-Version', 'The kernel version the node reports.')),
    wide(col('Container-Runtime', 'The container runtime the node reports.')),
  ],
  cells(obj, now) {
    const node = obj as Node;
    const addr = (type: string) => node.status?.addresses?.find((a) => a.type === type)?.address;
    const info = (node.status?.nodeInfo ?? {}) as Record<string, string | undefined>;
    const unknown = (s: string | undefined) => (s ? s : '<unknown>');
    return [
      node.metadata.name,
      nodeStatus(node),
      nodeRoles(node),
      age(node.metadata.creationTimestamp, now),
      info.kubeletVersion ?? '',
      orNone(addr('InternalIP')),
      orNone(addr('ExternalIP')),
      unknown(info.osImage),
      unknown(info.kernelVersion),
      unknown(info.containerRuntimeVersion),
    ];
  },
};

export const namespaces: KindPrinter = {
  columns: [NAME, col('Status', 'The phase of the namespace: Active or Terminating.'), AGE],
  cells: (obj, now) => [
    obj.metadata.name,
    (obj as Namespace).status?.phase ?? '',
    age(obj.metadata.creationTimestamp, now),
  ],
};

export const endpoints: KindPrinter = {
  columns: [NAME, col('Endpoints', 'Addresses and ports of the ready endpoints.'), AGE],
  cells(obj, now) {
    const list: string[] = [];
    for (const s of (obj as Endpoints).subsets ?? []) {
      for (const a of s.addresses ?? []) {
        if (!s.ports?.length) list.push(a.ip);
        for (const p of s.ports ?? []) list.push(`${a.ip}:${p.port}`);
      }
    }
    return [
      obj.metadata.name,
      list.length ? abbreviate(list) : '<none>',
      age(obj.metadata.creationTimestamp, now),
    ];
  },
};

export const endpointslices: KindPrinter = {
  columns: [
    NAME,
    col('AddressType', 'The type of the addresses: IPv4, IPv6 or FQDN.'),
    col('Ports', 'The ports of the endpoints.'),
    col('Endpoints', 'The addresses of the endpoints.'),
    AGE,
  ],
  cells(obj, now) {
    const slice = obj as EndpointSlice;
    const ports = (slice.ports ?? [])
      .map((p) => (p.port === undefined ? '' : String(p.port)))
      .filter((p) => p);
    const addrs = (slice.endpoints ?? []).flatMap((e) => e.addresses ?? []);
    return [
      slice.metadata.name,
      slice.addressType,
      ports.length ? ports.join(',') : '<unset>',
      addrs.length ? abbreviate(addrs) : '<unset>',
      age(slice.metadata.creationTimestamp, now),
    ];
  },
};
