/**
 * The EndpointSlice controller: keeps discovery.k8s.io/v1 EndpointSlices of every Service that has
 * a selector in step with the Pods it selects. This is what kube-proxy (kdp's and the real one)
 * programs from, so it follows upstream closely: the same slice shape, labels and owner, the
 * same low-churn placement (endpointslice-reconcile.ts), and an accurate
 * endpoints.kubernetes.io/last-change-trigger-time, from which kube-proxy measures its network
 * programming latency: the earliest change (Pod created, Ready flipped, deletion asked for,
 * Service created) not yet reflected in the slices.
 */
import { findResource } from '../api/resources.ts';
import type { EndpointSlice, Node, Pod, Service } from '../api/types.ts';
import {
  ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
  ENDPOINTSLICE_CONTROLLER_NAME,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_TOPOLOGY_ZONE,
} from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { KdpError } from '../errors.ts';
import { type ControllerOptions, ignoreNotFound, keyOf, QueueController, splitKey } from './controller.ts';
import { desiredEndpoints } from './endpointslice-desired.ts';
import { planSlices } from './endpointslice-reconcile.ts';
import { ensureIndex } from './informers.ts';
import { OwnWrites } from './own-writes.ts';
import { formatTime, podChangeTime } from './pods.ts';
import { managesEndpoints, podEndpointFingerprint, servicesForPod } from './services.ts';

export interface EndpointSliceControllerOptions extends ControllerOptions {
  /** Endpoints per slice at most; upstream's default is 100. */
  maxEndpointsPerSlice?: number;
}

const SLICES = findResource('discovery.k8s.io', 'endpointslices')!;
const BY_SERVICE = 'endpointslice-controller/service';

function sliceServiceKey(s: EndpointSlice): string[] {
  const l = s.metadata.labels ?? {};
  if (l[LABEL_MANAGED_BY] !== ENDPOINTSLICE_CONTROLLER_NAME || !l[LABEL_SERVICE_NAME]) return [];
  return [`${s.metadata.namespace}/${l[LABEL_SERVICE_NAME]}`];
}

export class EndpointSliceController extends QueueController {
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly own: OwnWrites<EndpointSlice>;
  private readonly max: number;
  /** Per Service: the earliest change time (ms) not yet written to its slices. */
  private readonly triggers = new Map<string, number>();
  /** Slice key -> resourceVersion of this controller's last write to it, whose event needs no sync. */
  private readonly ownRV = new Map<string, string>();

  constructor(client: ApiClient, opts: EndpointSliceControllerOptions = {}) {
    super('endpointslice-controller', client, opts, 4);
    this.max = Math.max(1, opts.maxEndpointsPerSlice ?? 100);
    this.services = this.informer<Service>('services');
    this.pods = this.informer<Pod>('pods');
    this.nodes = this.informer<Node>('nodes');
    this.slices = ensureIndex(this.informer<EndpointSlice>(SLICES), BY_SERVICE, sliceServiceKey);
    this.own = new OwnWrites(this.slices, true);

    this.services.addHandlers({
      onAdd: (svc) => this.touch(keyOf(svc), Date.parse(svc.metadata.creationTimestamp ?? '')),
      onUpdate: (old, svc) => {
        if (
          JSON.stringify([old.spec, old.metadata.labels]) !== JSON.stringify([svc.spec, svc.metadata.labels])
        ) {
          this.queue.add(keyOf(svc));
        }
      },
      onDelete: (svc) => this.queue.add(keyOf(svc)),
    });
    this.pods.addHandlers({
      onAdd: (pod) => this.podChanged(podChangeTime(pod), pod),
      onUpdate: (old, pod) => {
        if (podEndpointFingerprint(old) !== podEndpointFingerprint(pod))
          this.podChanged(podChangeTime(pod), pod, old);
      },
      onDelete: (pod) =>
        this.podChanged(pod.metadata.deletionTimestamp ? podChangeTime(pod) : Date.now(), pod),
    });
    this.nodes.addHandlers({
      onAdd: () => this.allServices(),
      onUpdate: (old, node) => {
        if (old.metadata.labels?.[LABEL_TOPOLOGY_ZONE] !== node.metadata.labels?.[LABEL_TOPOLOGY_ZONE])
          this.allServices();
      },
      onDelete: () => this.allServices(),
    });
    const sliceEvent = (s: EndpointSlice, deleted = false) => {
      const key = keyOf(s);
      const mine = !deleted && this.ownRV.get(key) === s.metadata.resourceVersion;
      this.ownRV.delete(key);
      if (!mine) for (const k of sliceServiceKey(s)) this.queue.add(k);
    };
    this.slices.addHandlers({
      onAdd: (s) => sliceEvent(s),
      onUpdate: (_o, s) => sliceEvent(s),
      onDelete: (s) => sliceEvent(s, true),
    });
  }

  protected syncedInformers() {
    return [this.services, this.pods, this.nodes, this.slices];
  }

  /** Queues a Service, remembering the change time when it is the earliest unwritten one. */
  private touch(key: string, at: number | undefined): void {
    this.remember(key, at);
    this.queue.add(key);
  }

  private remember(key: string, at: number | undefined): void {
    if (at === undefined || Number.isNaN(at)) return;
    const cur = this.triggers.get(key);
    if (cur === undefined || at < cur) this.triggers.set(key, at);
  }

  private podChanged(at: number | undefined, pod: Pod, old?: Pod): void {
    for (const key of servicesForPod(this.services, pod, old)) this.touch(key, at);
  }

  private allServices(): void {
    for (const svc of this.services.list()) if (managesEndpoints(svc)) this.queue.add(keyOf(svc));
  }

  private slicesOf(key: string): EndpointSlice[] {
    return this.own.byIndex(BY_SERVICE, key, sliceServiceKey);
  }

  protected async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(name, namespace);
    const trigger = this.triggers.get(key);
    this.triggers.delete(key);
    try {
      if (!svc) {
        await Promise.all(this.slicesOf(key).map((s) => this.remove(s)));
        return;
      }
      if (!managesEndpoints(svc)) return;
      const pods = this.pods.list(namespace);
      const desired = desiredEndpoints(
        svc,
        pods.filter((p) =>
          Object.entries(svc.spec.selector!).every(([k, v]) => p.metadata.labels?.[k] === v),
        ),
        (n) => this.nodes.get(n),
      );
      const plan = planSlices(svc, desired, this.slicesOf(key), this.max);
      const stamp = (s: EndpointSlice): EndpointSlice => {
        const annotations = { ...(s.metadata.annotations ?? {}) };
        if (trigger !== undefined) annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] = formatTime(trigger);
        else delete annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME];
        return { ...s, metadata: { ...s.metadata, annotations } };
      };
      // Creates and updates before deletes: endpoints that move never vanish in between.
      await Promise.all([
        ...plan.create.map((s) => this.write(this.client.resource<EndpointSlice>(SLICES).create(stamp(s)))),
        ...plan.update.map((s) => this.write(this.client.resource<EndpointSlice>(SLICES).update(stamp(s)))),
      ]);
      await Promise.all(plan.delete.map((s) => this.remove(s)));
      if (desired.podsOnUnknownNodes) {
        throw new KdpError(
          'KDP_ERR_CONTROLLER_RETRY',
          `${desired.podsOnUnknownNodes} pod(s) of service ${key} are on nodes not known yet; left out for now`,
        );
      }
    } catch (err) {
      // Not written yet: the retry (the queue's backoff) still owes this change time.
      this.remember(key, trigger);
      throw err;
    }
  }

  private async write(p: Promise<EndpointSlice>): Promise<void> {
    const s = await p;
    this.ownRV.set(keyOf(s), s.metadata.resourceVersion!);
    this.own.wrote(s);
  }

  private async remove(s: EndpointSlice): Promise<void> {
    await this.client
      .resource(SLICES)
      .delete(s.metadata.name!, { namespace: s.metadata.namespace, preconditions: { uid: s.metadata.uid } })
      .catch(ignoreNotFound);
    this.own.removed(s);
  }
}
