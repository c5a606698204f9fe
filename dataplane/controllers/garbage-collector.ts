/**
 * The garbage collector, background propagation only: an object all of whose ownerReferences
 * point at owners that no longer exist (by uid: a new owner of the same name does not count) is
 * deleted. So deleting a Deployment takes its ReplicaSets, and those their Pods; deleting a
 * Service takes its EndpointSlices. Orphan propagation is the registry's (it strips the references
 * at delete time); Foreground (owner kept until dependents are gone) is not implemented. An
 * owner missing from the cache is looked up on the server before anything is deleted, so a cache
 * that lags behind a fresh owner never costs a dependent.
 */
import { findResourceByKind, groupResource, RESOURCES, type ResourceInfo } from '../api/resources.ts';
import type { KubeObject, OwnerReference } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { type ControllerOptions, ignoreNotFound, keyOf, QueueController, splitKey } from './controller.ts';
import { ensureIndex } from './informers.ts';

export interface GarbageCollectorOptions extends ControllerOptions {
  /** Kinds whose objects may be collected (group-resources); default every kind in the table. */
  resources?: string[];
}

const BY_OWNER = 'garbage-collector/owner';
const ownerUids = (o: KubeObject) => (o.metadata.ownerReferences ?? []).map((r) => r.uid);

export class GarbageCollector extends QueueController {
  private readonly watched = new Map<string, { info: ResourceInfo; informer: Informer<KubeObject> }>();

  constructor(client: ApiClient, opts: GarbageCollectorOptions = {}) {
    super('garbage-collector', client, opts, 2);
    const kinds = opts.resources
      ? RESOURCES.filter((r) => opts.resources!.includes(groupResource(r)))
      : RESOURCES;
    for (const info of kinds) {
      const gr = groupResource(info);
      const informer = ensureIndex(this.informer<KubeObject>(info), BY_OWNER, ownerUids);
      this.watched.set(gr, { info, informer });
      const check = (o: KubeObject) => {
        if (o.metadata.ownerReferences?.length) this.queue.add(`${gr}|${keyOf(o)}`);
      };
      informer.addHandlers({
        onAdd: check,
        onUpdate: (_old, o) => check(o),
        // An owner went: look at everything that named it.
        onDelete: (owner) => {
          for (const w of this.watched.values()) {
            for (const dep of w.informer.byIndex(BY_OWNER, owner.metadata.uid!)) {
              this.queue.add(`${groupResource(w.info)}|${keyOf(dep)}`);
            }
          }
        },
      });
    }
  }

  protected syncedInformers() {
    return [...this.watched.values()].map((w) => w.informer);
  }

  protected async sync(key: string): Promise<void> {
    const bar = key.indexOf('|');
    const w = this.watched.get(key.slice(0, bar))!;
    const { namespace, name } = splitKey(key.slice(bar + 1));
    const obj = w.informer.get(name, namespace);
    const refs = obj?.metadata.ownerReferences;
    if (!obj || !refs?.length || obj.metadata.deletionTimestamp) return;
    for (const ref of refs) {
      if (await this.ownerExists(ref, namespace)) return;
    }
    await this.client
      .resource(w.info)
      .delete(name, { namespace, propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid } })
      .catch(ignoreNotFound);
    this.log('debug', `garbage-collector: deleted ${key}: its owners are gone`);
  }

  private async ownerExists(ref: OwnerReference, namespace: string): Promise<boolean> {
    const info = findResourceByKind(ref.apiVersion, ref.kind);
    // An owner of a kind this server does not serve cannot be checked: keep the dependent.
    if (!info) return true;
    const ns = info.namespaced ? namespace : undefined;
    const cached = this.watched.get(groupResource(info))?.informer.get(ref.name, ns);
    if (cached?.metadata.uid === ref.uid) return true;
    const live = await this.client.resource(info).tryGet(ref.name, ns);
    return live?.metadata.uid === ref.uid;
  }
}
