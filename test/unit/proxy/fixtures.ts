// Object builders for the proxy framework's tests: Services, EndpointSlices and Nodes as the
// apiserver would return them (defaults filled in), small enough to read in a table row.
import type {
  Endpoint,
  EndpointSlice,
  EndpointSlicePort,
  Node,
  Service,
  ServiceSpec,
} from '../../../dataplane/api/types.ts';
import { ANNOTATION_LAST_CHANGE_TRIGGER_TIME, LABEL_SERVICE_NAME } from '../../../dataplane/api/types.ts';
import type { ProxyMetrics } from '../../../dataplane/proxy/proxy-metrics.ts';

export function service(name: string, spec: Partial<ServiceSpec> = {}, namespace = 'default'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      selector: { app: name },
      sessionAffinity: 'None',
      ...spec,
    },
  };
}

export interface EndpointOpts {
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string;
}

export function endpoint(ip: string, o: EndpointOpts = {}): Endpoint {
  const ready = o.ready ?? true;
  const ep: Endpoint = {
    addresses: [ip],
    conditions: { ready, serving: o.serving ?? ready, terminating: o.terminating ?? false },
  };
  if (o.node) ep.nodeName = o.node;
  if (o.zone) ep.zone = o.zone;
  return ep;
}

export interface SliceOpts {
  ports?: EndpointSlicePort[];
  namespace?: string;
  /** last-change-trigger-time annotation. */
  trigger?: string;
  addressType?: EndpointSlice['addressType'];
  labels?: Record<string, string>;
}

export const HTTP_PORT: EndpointSlicePort = { name: 'http', protocol: 'TCP', port: 8080 };

export function slice(
  svcName: string,
  name: string,
  endpoints: Endpoint[],
  o: SliceOpts = {},
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      labels: { [LABEL_SERVICE_NAME]: svcName, ...(o.labels ?? {}) },
      annotations: o.trigger ? { [ANNOTATION_LAST_CHANGE_TRIGGER_TIME]: o.trigger } : {},
    },
    addressType: o.addressType ?? 'IPv4',
    endpoints,
    ports: o.ports ?? [HTTP_PORT],
  };
}

export function node(
  name: string,
  o: { ips?: string[]; labels?: Record<string, string>; podCIDR?: string } = {},
): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: o.podCIDR ? { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] } : {},
    status: { addresses: (o.ips ?? []).map((address) => ({ type: 'InternalIP' as const, address })) },
  };
}

/** Endpoint keys of a service port in an endpoints map. */
export function keysOf(map: ReadonlyMap<string, readonly { key: string }[]>, portKey: string): string[] {
  return (map.get(portKey) ?? []).map((e) => e.key);
}

/**
 * The value of one sample of a proxier metric: by metric, sample name (`<metric>_count` etc. for
 * histograms; the metric itself otherwise) and labels. Undefined when there is no such sample.
 */
export async function sample(
  m: ProxyMetrics,
  metric: string,
  name = metric,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const found = m.registry.getSingleMetric(metric);
  if (!found) throw new Error(`metric ${metric} is not registered`);
  const { values } = await found.get();
  const v = values.find(
    (s) =>
      ((s as { metricName?: string }).metricName ?? metric) === name &&
      Object.entries(labels).every(([k, x]) => String(s.labels[k]) === x),
  );
  return v?.value;
}
