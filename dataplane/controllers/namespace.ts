/**
 * The namespace controller: finishes `kubectl delete namespace`. A Namespace being deleted keeps
 * the `kubernetes` finalizer in spec.finalizers until this controller has deleted every namespaced
 * object in it (every namespaced kind of the resource table) and seen them gone (Pods may take
 * their grace period, and one still there after it is removed at once, as no kubelet may be left to do
 * it); then it drops the finalizer and the registry removes the Namespace.
 */
import { RESOURCES } from '../api/resources.ts';
import type { Namespace } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { type ControllerOptions, ignoreNotFound, keyOf, QueueController } from './controller.ts';

const FINALIZER = 'kubernetes';
/** How often a namespace whose content is still going away is looked at again. */
const RECHECK_MS = 1000;

export class NamespaceController extends QueueController {
  private readonly namespaces: Informer<Namespace>;

  constructor(client: ApiClient, opts: ControllerOptions = {}) {
    super('namespace-controller', client, opts, 2);
    this.namespaces = this.informer<Namespace>('namespaces');
    this.namespaces.addHandlers({
      onAdd: (ns) => ns.metadata.deletionTimestamp && this.queue.add(keyOf(ns)),
      onUpdate: (_o, ns) => ns.metadata.deletionTimestamp && this.queue.add(keyOf(ns)),
    });
  }

  protected syncedInformers() {
    return [this.namespaces];
  }

  protected async sync(name: string): Promise<void> {
    const ns = this.namespaces.get(name);
    if (!ns?.metadata.deletionTimestamp || !ns.spec?.finalizers?.includes(FINALIZER)) return;
    const kinds = RESOURCES.filter((r) => r.namespaced).map((info) => this.client.resource(info));
    for (const rc of kinds) {
      const now = Date.now();
      const items = (await rc.listAll({ namespace: name })).items;
      await Promise.all(
        items.map((o) => {
          const due = o.metadata.deletionTimestamp;
          if (due && Date.parse(due) > now) return undefined;
          // Past its grace period and still here (no kubelet finished it): remove it now.
          const grace = due ? { gracePeriodSeconds: 0 } : {};
          return rc
            .delete(o.metadata.name!, {
              namespace: name,
              propagationPolicy: 'Background',
              preconditions: { uid: o.metadata.uid },
              ...grace,
            })
            .catch(ignoreNotFound);
        }),
      );
    }
    for (const rc of kinds) {
      if ((await rc.list({ namespace: name, limit: 1 })).items.length) {
        // Something is still going away (a Pod's grace period): look again a little later.
        this.queue.addAfter(name, RECHECK_MS);
        return;
      }
    }
    const finalizers = ns.spec.finalizers.filter((f) => f !== FINALIZER);
    await this.client.resource<Namespace>('namespaces').update({ ...ns, spec: { ...ns.spec, finalizers } });
    this.log('info', `namespace ${name}: content deleted, finalizer removed`);
  }
}
