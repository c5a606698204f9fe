/**
 * The Deployment controller (apps/v1): one ReplicaSet per pod template, named `<deploy>-<hash>`
 * with the pod-template-hash label on it, its selector and its template, as upstream. A template
 * change starts a rollout: RollingUpdate grows the new ReplicaSet and shrinks the old ones within
 * maxSurge/maxUnavailable (deployment-rollout.ts), Recreate scales the old ones to zero, waits
 * for their Pods to be gone, then scales the new one up. Revisions are numbered in
 * deployment.kubernetes.io/revision; old ReplicaSets scaled to zero beyond revisionHistoryLimit
 * are deleted; status and the Available/Progressing conditions are what `kubectl rollout status`
 * reads. Not done: proportional scaling of several ReplicaSets in the middle of a rollout (a
 * scale then applies to the new ReplicaSet), and rollback via the API (kubectl rollout undo
 * edits the template, which works).
 */
import { isApiError } from '../api/errors.ts';
import { findResource } from '../api/resources.ts';
import type { Deployment, Pod, ReplicaSet } from '../api/types.ts';
import { LABEL_POD_TEMPLATE_HASH } from '../api/types.ts';
import type { ApiClient, Informer } from '../client/interface.ts';
import { KdpError } from '../errors.ts';
import {
  type ControllerOptions,
  ignoreNotFound,
  keyOf,
  QueueController,
  sameJSON,
  splitKey,
} from './controller.ts';
import { nextConditions } from './deployment-status.ts';
import {
  ANNOTATION_REVISION,
  newReplicaSetReplicas,
  podTemplateHash,
  revisionOf,
  rolloutCounts,
  sameTemplate,
  scaleDownOld,
  specReplicas,
} from './deployment-rollout.ts';
import { claimChildren, ownerKeysOf } from './claims.ts';
import { ensureIndex } from './informers.ts';
import { OwnWrites } from './own-writes.ts';
import { controllerRef, isTerminal, ownerRef } from './pods.ts';

const DEPLOYMENTS = findResource('apps', 'deployments')!;
const REPLICASETS = findResource('apps', 'replicasets')!;
const PODS_BY_OWNER = 'deployment-controller/owner';
/** Annotations of a Deployment that do not travel to its ReplicaSets. */
const NOT_COPIED = ['kubectl.kubernetes.io/last-applied-configuration', ANNOTATION_REVISION];

export class DeploymentController extends QueueController {
  private readonly deployments: Informer<Deployment>;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly ownDeployments: OwnWrites<Deployment>;
  private readonly ownSets: OwnWrites<ReplicaSet>;

  constructor(client: ApiClient, opts: ControllerOptions = {}) {
    super('deployment-controller', client, opts, 2);
    this.deployments = this.informer<Deployment>(DEPLOYMENTS);
    this.sets = this.informer<ReplicaSet>(REPLICASETS);
    this.pods = ensureIndex(this.informer<Pod>('pods'), PODS_BY_OWNER, (p) => {
      const ref = controllerRef(p);
      return ref ? [ref.uid] : [];
    });
    this.ownDeployments = new OwnWrites(this.deployments, true);
    this.ownSets = new OwnWrites(this.sets, true);
    this.deployments.addHandlers({
      onAdd: (d) => this.queue.add(keyOf(d)),
      onUpdate: (_o, d) => this.queue.add(keyOf(d)),
    });
    const rsChanged = (rs: ReplicaSet) => {
      for (const key of ownerKeysOf(rs, 'Deployment', this.deployments)) this.queue.add(key);
    };
    this.sets.addHandlers({ onAdd: rsChanged, onUpdate: (_o, rs) => rsChanged(rs), onDelete: rsChanged });
    // Recreate waits for the old Pods to be gone: their deletion moves it on.
    this.pods.addHandlers({
      onDelete: (p) => {
        const ref = controllerRef(p);
        const rs = ref?.kind === 'ReplicaSet' ? this.sets.get(ref.name, p.metadata.namespace) : undefined;
        if (rs) rsChanged(rs);
      },
    });
  }

  protected syncedInformers() {
    return [this.deployments, this.sets, this.pods];
  }

  protected async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    let d = this.ownDeployments.get(name, namespace);
    if (!d || d.metadata.deletionTimestamp) return;
    const owned = await this.ownedSets(d);
    let newRS = owned.find((rs) => sameTemplate(rs.spec.template, d!.spec.template));
    const old = owned.filter((rs) => rs !== newRS);
    const maxOldRevision = Math.max(0, ...old.map(revisionOf));
    let created = false;
    if (!d.spec.paused) {
      if (!newRS) {
        newRS = await this.createReplicaSet(d, owned, maxOldRevision + 1);
        created = true;
      } else if (revisionOf(newRS) <= maxOldRevision) {
        // An old template came back (rollback): it becomes the newest revision.
        newRS = await this.setRevision(newRS, maxOldRevision + 1);
      }
      const revision = String(revisionOf(newRS));
      if (d.metadata.annotations?.[ANNOTATION_REVISION] !== revision) {
        d = await this.writeDeployment({
          ...d,
          metadata: {
            ...d.metadata,
            annotations: { ...(d.metadata.annotations ?? {}), [ANNOTATION_REVISION]: revision },
          },
        });
      }
      if (d.spec.strategy?.type === 'Recreate') await this.recreate(d, newRS, old);
      else await this.rollingUpdate(d, newRS, old);
      await this.cleanup(d, newRS, old);
    }
    await this.syncStatus(key, d, newRS, newRS ? [...old, newRS] : old, created);
  }

  /** The Deployment's ReplicaSets, adopting orphans its selector matches. */
  private ownedSets(d: Deployment): Promise<ReplicaSet[]> {
    return claimChildren(d, this.ownSets.list(d.metadata.namespace), {
      kind: 'Deployment',
      adoptable: (rs) => !rs.metadata.deletionTimestamp,
      release: false,
      write: (rs) => this.writeSet(rs),
    });
  }

  private async createReplicaSet(d: Deployment, owned: ReplicaSet[], revision: number): Promise<ReplicaSet> {
    const collisionCount = (d.status as { collisionCount?: number } | undefined)?.collisionCount;
    const hash = podTemplateHash(d.spec.template, collisionCount);
    const template = structuredClone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [LABEL_POD_TEMPLATE_HASH]: hash };
    const annotations: Record<string, string> = { ...(d.metadata.annotations ?? {}) };
    for (const k of NOT_COPIED) delete annotations[k];
    annotations[ANNOTATION_REVISION] = String(revision);
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations,
        ownerReferences: [ownerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: 0,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector: {
          ...d.spec.selector,
          matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [LABEL_POD_TEMPLATE_HASH]: hash },
        },
        template,
      },
    };
    rs.spec.replicas = newReplicaSetReplicas(d, owned, rs);
    if (d.spec.strategy?.type === 'Recreate' && owned.some((o) => specReplicas(o) > 0)) rs.spec.replicas = 0;
    try {
      const stored = await this.client.resource<ReplicaSet>(REPLICASETS).create(rs);
      this.ownSets.wrote(stored);
      return stored;
    } catch (err) {
      if (!isApiError(err, 'AlreadyExists')) throw err;
      // A ReplicaSet of that name with another template: hash again with a higher collisionCount.
      const status = { ...(d.status ?? {}), collisionCount: (collisionCount ?? 0) + 1 };
      this.ownDeployments.wrote(
        await this.client.resource<Deployment>(DEPLOYMENTS).updateStatus({ ...d, status }),
      );
      throw new KdpError(
        'KDP_ERR_CONTROLLER_RETRY',
        `replicaset ${rs.metadata.name} exists with another template`,
        {
          cause: err,
        },
      );
    }
  }

  private async rollingUpdate(d: Deployment, newRS: ReplicaSet, old: ReplicaSet[]): Promise<void> {
    const replicas = d.spec.replicas ?? 1;
    const all = [...old, newRS];
    const target = specReplicas(newRS) > replicas ? replicas : newReplicaSetReplicas(d, all, newRS);
    if (target !== specReplicas(newRS)) {
      await this.scaleSet(newRS, target);
      return; // one step per sync, as upstream: the next event brings the next step
    }
    for (const [rs, n] of scaleDownOld(d, old, newRS)) await this.scaleSet(rs, n);
  }

  private async recreate(d: Deployment, newRS: ReplicaSet, old: ReplicaSet[]): Promise<void> {
    const active = old.filter((rs) => specReplicas(rs) > 0);
    if (active.length) {
      for (const rs of active) await this.scaleSet(rs, 0);
      return;
    }
    const oldPods = old.some((rs) =>
      this.pods.byIndex(PODS_BY_OWNER, rs.metadata.uid!).some((p) => !isTerminal(p)),
    );
    if (!oldPods && specReplicas(newRS) !== (d.spec.replicas ?? 1))
      await this.scaleSet(newRS, d.spec.replicas ?? 1);
  }

  /** Deletes the oldest empty ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(d: Deployment, newRS: ReplicaSet, old: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const done = old.filter(
      (rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp,
    );
    if (done.length <= limit || specReplicas(newRS) !== (d.spec.replicas ?? 1)) return;
    done.sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of done.slice(0, done.length - limit)) {
      await this.client
        .resource(REPLICASETS)
        .delete(rs.metadata.name!, {
          namespace: rs.metadata.namespace,
          preconditions: { uid: rs.metadata.uid },
        })
        .catch(ignoreNotFound);
      this.ownSets.removed(rs);
    }
  }

  private async syncStatus(
    key: string,
    d: Deployment,
    newRS: ReplicaSet | undefined,
    all: ReplicaSet[],
    created: boolean,
  ) {
    const counts = rolloutCounts(all, newRS);
    const { conditions, recheckMs } = nextConditions(d, newRS, counts, created);
    const status = {
      ...(d.status ?? {}),
      observedGeneration: d.metadata.generation ?? 0,
      ...counts,
      conditions,
    };
    if (recheckMs !== undefined) this.queue.addAfter(key, recheckMs);
    if (sameJSON(status, d.status ?? {})) return;
    this.ownDeployments.wrote(
      await this.client.resource<Deployment>(DEPLOYMENTS).updateStatus({ ...d, status }),
    );
  }

  private async scaleSet(rs: ReplicaSet, replicas: number): Promise<ReplicaSet> {
    return this.writeSet({ ...rs, spec: { ...rs.spec, replicas } });
  }

  private async setRevision(rs: ReplicaSet, revision: number): Promise<ReplicaSet> {
    const annotations = { ...(rs.metadata.annotations ?? {}), [ANNOTATION_REVISION]: String(revision) };
    return this.writeSet({ ...rs, metadata: { ...rs.metadata, annotations } });
  }

  private async writeSet(rs: ReplicaSet): Promise<ReplicaSet> {
    const stored = await this.client.resource<ReplicaSet>(REPLICASETS).update(rs);
    this.ownSets.wrote(stored);
    return stored;
  }

  private async writeDeployment(d: Deployment): Promise<Deployment> {
    const stored = await this.client.resource<Deployment>(DEPLOYMENTS).update(d);
    this.ownDeployments.wrote(stored);
    return stored;
  }
}
