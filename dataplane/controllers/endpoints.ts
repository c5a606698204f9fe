/**
 * The legacy Endpoints controller: one core/v1 Endpoints object per Service with a selector,
 * named after the Service, as upstream's endpoints controller keeps it. Nothing in kdp's data
 * plane reads it (kube-proxy uses EndpointSlices), but `kubectl describe service` prints its
 * addresses and older tools read it. Rules as upstream: ready Pods under `addresses`, the others
 * under `notReadyAddresses`; terminating Pods left out unless the Service publishes not-ready
 * addresses; one subset per distinct port set; capped at 1000 addresses with the
 * endpoints.kubernetes.io/over-capacity annotation.
 */
import type { EndpointAddress, Endpoints, EndpointSubset, Pod, Protocol, Service } from '../api/types.ts';
import { ANNOTATION_LAST_CHANGE_TRIGGER_TIME, LABEL_HEADLESS } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { type ControllerOptions, ignoreNotFound, keyOf, QueueController, splitKey } from './controller.ts';
import { podHasEndpoint } from './endpointslice-desired.ts';
import { OwnWrites } from './own-writes.ts';
import { formatTime, isPodReady, podChangeTime, resolveTargetPort } from './pods.ts';
import {
  isHeadless,
  managesEndpoints,
  podEndpointFingerprint,
  selectsPod,
  servicesForPod,
} from './services.ts';

const MAX_ADDRESSES = 1000;
const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';

type EndpointPort = NonNullable<EndpointSubset['ports']>[number];

function addressOf(pod: Pod): EndpointAddress {
  const a: EndpointAddress = { ip: pod.status!.podIP! };
  if (pod.spec.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = {
    kind: 'Pod',
    namespace: pod.metadata.namespace,
    name: pod.metadata.name!,
    uid: pod.metadata.uid,
  };
  return a;
}

const byIP = (a: EndpointAddress, b: EndpointAddress) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);

/** The subsets upstream would publish: Pods grouped by their resolved port set, sorted. */
export function desiredSubsets(
  svc: Service,
  pods: readonly Pod[],
): { subsets: EndpointSubset[]; truncated: boolean } {
  const publishAll = svc.spec.publishNotReadyAddresses === true;
  const groups = new Map<
    string,
    { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >();
  for (const pod of pods) {
    if (!podHasEndpoint(pod) || (pod.metadata.deletionTimestamp && !publishAll)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const port = resolveTargetPort(pod, sp);
      if (port === undefined) continue;
      const p: EndpointPort = { port, protocol: (sp.protocol ?? 'TCP') as Protocol };
      if (sp.name) p.name = sp.name;
      ports.push(p);
    }
    // A Pod resolving none of the ports has no endpoint, except for a port-less headless Service.
    if (!ports.length && !(isHeadless(svc) && !svc.spec.ports?.length)) continue;
    ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port);
    const key = JSON.stringify(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, ready: [], notReady: [] }));
    (publishAll || isPodReady(pod) ? g.ready : g.notReady).push(addressOf(pod));
  }
  const subsets: EndpointSubset[] = [];
  let budget = MAX_ADDRESSES;
  let truncated = false;
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    g.ready.sort(byIP);
    g.notReady.sort(byIP);
    const ready = g.ready.slice(0, budget);
    budget -= ready.length;
    const notReady = g.notReady.slice(0, budget);
    budget -= notReady.length;
    if (ready.length < g.ready.length || notReady.length < g.notReady.length) truncated = true;
    if (!ready.length && !notReady.length) continue;
    const s: EndpointSubset = {};
    if (ready.length) s.addresses = ready;
    if (notReady.length) s.notReadyAddresses = notReady;
    if (g.ports.length) s.ports = g.ports;
    subsets.push(s);
  }
  return { subsets, truncated };
}

export class EndpointsController extends QueueController {
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly own: OwnWrites<Endpoints>;
  private readonly triggers = new Map<string, number>();

  constructor(client: ApiClient, opts: ControllerOptions = {}) {
    super('endpoints-controller', client, opts, 2);
    this.services = this.informer<Service>('services');
    this.pods = this.informer<Pod>('pods');
    this.endpoints = this.informer<Endpoints>('endpoints');
    this.own = new OwnWrites(this.endpoints, true);
    this.services.addHandlers({
      onAdd: (svc) => this.touch(keyOf(svc), Date.parse(svc.metadata.creationTimestamp ?? '')),
      onUpdate: (_old, svc) => this.queue.add(keyOf(svc)),
      onDelete: (svc) => this.queue.add(keyOf(svc)),
    });
    const podChanged = (at: number | undefined, pod: Pod, old?: Pod) => {
      for (const key of servicesForPod(this.services, pod, old)) this.touch(key, at);
    };
    this.pods.addHandlers({
      onAdd: (pod) => podChanged(podChangeTime(pod), pod),
      onUpdate: (old, pod) => {
        if (podEndpointFingerprint(old) !== podEndpointFingerprint(pod))
          podChanged(podChangeTime(pod), pod, old);
      },
      onDelete: (pod) => podChanged(pod.metadata.deletionTimestamp ? podChangeTime(pod) : Date.now(), pod),
    });
    // Someone else changing or deleting an Endpoints object of a managed Service: put it back.
    this.endpoints.addHandlers({
      onUpdate: (_old, ep) => this.queue.add(keyOf(ep)),
      onDelete: (ep) => this.queue.add(keyOf(ep)),
    });
  }

  protected syncedInformers() {
    return [this.services, this.pods, this.endpoints];
  }

  private touch(key: string, at: number | undefined): void {
    if (at !== undefined && !Number.isNaN(at)) {
      const cur = this.triggers.get(key);
      if (cur === undefined || at < cur) this.triggers.set(key, at);
    }
    this.queue.add(key);
  }

  protected async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(name, namespace);
    const current = this.own.get(name, namespace);
    const rc = this.client.resource<Endpoints>('endpoints');
    if (!svc) {
      this.triggers.delete(key);
      if (current) {
        await rc
          .delete(name, { namespace, preconditions: { uid: current.metadata.uid } })
          .catch(ignoreNotFound);
        this.own.removed(current);
      }
      return;
    }
    if (!managesEndpoints(svc)) return;
    const trigger = this.triggers.get(key);
    const { subsets, truncated } = desiredSubsets(
      svc,
      this.pods.list(namespace).filter((p) => selectsPod(svc, p)),
    );
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (isHeadless(svc)) labels[LABEL_HEADLESS] = '';
    else delete labels[LABEL_HEADLESS];
    const annotations: Record<string, string> = { ...(current?.metadata.annotations ?? {}) };
    if (truncated) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
    else delete annotations[ANNOTATION_OVER_CAPACITY];
    const unchanged =
      current &&
      JSON.stringify(current.subsets ?? []) === JSON.stringify(subsets) &&
      JSON.stringify(current.metadata.labels ?? {}) === JSON.stringify(labels) &&
      !!current.metadata.annotations?.[ANNOTATION_OVER_CAPACITY] === truncated;
    this.triggers.delete(key);
    if (unchanged) return;
    if (trigger !== undefined) annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] = formatTime(trigger);
    else delete annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME];
    const body: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      ...(current ?? {}),
      metadata: { ...(current?.metadata ?? { name, namespace }), labels, annotations },
      subsets,
    };
    try {
      this.own.wrote(current ? await rc.update(body) : await rc.create(body));
    } catch (err) {
      if (trigger !== undefined) this.triggers.set(key, Math.min(trigger, this.triggers.get(key) ?? trigger));
      throw err;
    }
  }
}
