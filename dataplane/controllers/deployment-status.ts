/**
 * A Deployment's Available and Progressing conditions, as upstream words and times them: Available
 * once at least replicas-maxUnavailable Pods are available; Progressing True while the rollout
 * moves (NewReplicaSetCreated, ReplicaSetUpdated), NewReplicaSetAvailable when it completed, and
 * False/ProgressDeadlineExceeded after progressDeadlineSeconds without progress, which is what
 * makes `kubectl rollout status` fail instead of waiting forever.
 */
import type { Condition, Deployment, ReplicaSet } from '../api/types.ts';
import { fenceposts, type RolloutCounts } from './deployment-rollout.ts';
import { nowTimestamp } from './pods.ts';

export interface DeploymentCondition extends Condition {
  lastUpdateTime?: string;
}

function madeProgress(before: Partial<RolloutCounts> | undefined, now: RolloutCounts): boolean {
  if (!before) return true;
  const oldBefore = (before.replicas ?? 0) - (before.updatedReplicas ?? 0);
  const oldNow = now.replicas - now.updatedReplicas;
  return (
    now.updatedReplicas > (before.updatedReplicas ?? 0) ||
    now.readyReplicas > (before.readyReplicas ?? 0) ||
    now.availableReplicas > (before.availableReplicas ?? 0) ||
    oldNow < oldBefore
  );
}

export function nextConditions(
  d: Deployment,
  newRS: ReplicaSet | undefined,
  counts: RolloutCounts,
  created: boolean,
): { conditions: DeploymentCondition[]; recheckMs?: number } {
  const replicas = d.spec.replicas ?? 1;
  const now = nowTimestamp();
  const prev = (d.status?.conditions ?? []) as DeploymentCondition[];
  const make = (
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
    touched: boolean,
  ) => {
    const old = prev.find((c) => c.type === type);
    const same = old?.status === status && old.reason === reason;
    const c: DeploymentCondition = {
      type,
      status,
      lastUpdateTime: same && !touched ? (old.lastUpdateTime ?? now) : now,
      lastTransitionTime: old?.status === status ? (old.lastTransitionTime ?? now) : now,
      reason,
      message,
    };
    return c;
  };

  const rolling = d.spec.strategy?.type !== 'Recreate';
  const minAvailable = replicas - (rolling ? fenceposts(d).maxUnavailable : 0);
  const available =
    counts.availableReplicas >= minAvailable
      ? make('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', false)
      : make(
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
          false,
        );

  const rsName = newRS?.metadata.name ?? '';
  const deadlineMs = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
  const oldProgressing = prev.find((c) => c.type === 'Progressing');
  let progressing: DeploymentCondition;
  let recheckMs: number | undefined;
  const complete =
    !!newRS &&
    counts.updatedReplicas === replicas &&
    counts.replicas === replicas &&
    counts.availableReplicas === replicas;
  if (d.spec.paused) {
    progressing = make('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', false);
  } else if (complete) {
    progressing = make(
      'Progressing',
      'True',
      'NewReplicaSetAvailable',
      `ReplicaSet "${rsName}" has successfully progressed.`,
      false,
    );
  } else if (created) {
    progressing = make(
      'Progressing',
      'True',
      'NewReplicaSetCreated',
      `Created new replica set "${rsName}"`,
      true,
    );
  } else if (
    madeProgress(d.status, counts) ||
    !oldProgressing ||
    oldProgressing.reason === 'DeploymentPaused'
  ) {
    progressing = make(
      'Progressing',
      'True',
      'ReplicaSetUpdated',
      `ReplicaSet "${rsName}" is progressing.`,
      true,
    );
  } else if (oldProgressing.reason === 'ProgressDeadlineExceeded') {
    progressing = oldProgressing;
  } else {
    const since = Date.parse(oldProgressing.lastUpdateTime ?? oldProgressing.lastTransitionTime ?? now);
    const left = since + deadlineMs - Date.now();
    if (left <= 0) {
      progressing = make(
        'Progressing',
        'False',
        'ProgressDeadlineExceeded',
        `ReplicaSet "${rsName}" has timed out progressing.`,
        true,
      );
    } else {
      progressing = oldProgressing;
      recheckMs = left + 1;
    }
  }
  if (!complete && !d.spec.paused && progressing.status === 'True' && recheckMs === undefined)
    recheckMs = deadlineMs + 1;
  return { conditions: [available, progressing], recheckMs };
}
