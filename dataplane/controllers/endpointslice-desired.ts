/**
 * The endpoints a Service should have, from its Pods, grouped by port set: upstream puts Pods that
 * resolve a named targetPort to different numbers in different slices, because a slice has one
 * port list for all its endpoints. Pure functions, so the rules are tested without a server.
 */
import type { Endpoint, EndpointSlicePort, Node, Pod, Service } from '../api/types.ts';
import { LABEL_TOPOLOGY_ZONE } from '../api/types.ts';
import { isPodReady, isTerminal, resolveTargetPort } from './pods.ts';

export interface EndpointGroup {
  ports: EndpointSlicePort[];
  /** By endpointKey, in Pod order. */
  endpoints: Map<string, Endpoint>;
}

export interface DesiredEndpoints {
  /** By portsKey. */
  groups: Map<string, EndpointGroup>;
  /** Pods left out because their Node is not (yet) known: the sync is retried. */
  podsOnUnknownNodes: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Identity of an endpoint across syncs: its address and the Pod behind it. */
export function endpointKey(ep: Endpoint): string {
  const ref = ep.targetRef;
  return `${ep.addresses.join(',')}|${ref ? `${ref.namespace ?? ''}/${ref.name}` : ''}`;
}

/** An endpoint with its fields in one order and nothing else, for comparison. */
export function canonicalEndpoint(ep: Endpoint): string {
  const c = ep.conditions ?? {};
  const ref = ep.targetRef;
  return JSON.stringify([
    ep.addresses,
    c.ready ?? null,
    c.serving ?? null,
    c.terminating ?? null,
    ep.hostname ?? null,
    ep.nodeName ?? null,
    ep.zone ?? null,
    ref ? [ref.kind, ref.namespace ?? null, ref.name, ref.uid ?? null] : null,
  ]);
}

/** Order-independent identity of a port list. */
export function portsKey(ports: readonly EndpointSlicePort[] | undefined): string {
  const norm = (ports ?? []).map((p) => [
    p.name ?? '',
    p.protocol ?? 'TCP',
    p.port ?? 0,
    p.appProtocol ?? '',
  ]);
  norm.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return JSON.stringify(norm);
}

/** Whether the endpoint controllers publish this Pod at all. */
export function podHasEndpoint(pod: Pod): boolean {
  return !!pod.status?.podIP && !!pod.spec.nodeName && !isTerminal(pod);
}

function slicePorts(svc: Service, pod: Pod): EndpointSlicePort[] {
  const out: EndpointSlicePort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const port = resolveTargetPort(pod, sp);
    if (port === undefined) continue;
    const p: EndpointSlicePort = { name: sp.name ?? '', protocol: sp.protocol ?? 'TCP', port };
    if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

export function podToEndpoint(svc: Service, pod: Pod, node: Node | undefined): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  // A terminating endpoint is never "ready" (clients of the old Endpoints API rely on that),
  // unless the Service publishes not-ready addresses anyway.
  const ready = svc.spec.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: [pod.status!.podIP!],
    conditions: { ready, serving, terminating },
  };
  const hostname = pod.spec.hostname;
  if (typeof hostname === 'string' && hostname && pod.spec.subdomain === svc.metadata.name)
    ep.hostname = hostname;
  ep.targetRef = {
    kind: 'Pod',
    namespace: pod.metadata.namespace,
    name: pod.metadata.name!,
    uid: pod.metadata.uid,
  };
  if (pod.spec.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[LABEL_TOPOLOGY_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

export function desiredEndpoints(
  svc: Service,
  pods: readonly Pod[],
  nodeByName: (name: string) => Node | undefined,
): DesiredEndpoints {
  const groups = new Map<string, EndpointGroup>();
  let podsOnUnknownNodes = 0;
  for (const pod of pods) {
    if (!podHasEndpoint(pod) || !IPV4.test(pod.status!.podIP!)) continue;
    const node = nodeByName(pod.spec.nodeName!);
    if (!node && !svc.spec.publishNotReadyAddresses) {
      // As upstream: leave the Pod out rather than publish an endpoint on a Node nobody knows,
      // and try again later.
      podsOnUnknownNodes++;
      continue;
    }
    const ports = slicePorts(svc, pod);
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: new Map() }));
    const ep = podToEndpoint(svc, pod, node);
    g.endpoints.set(endpointKey(ep), ep);
  }
  return { groups, podsOnUnknownNodes };
}
