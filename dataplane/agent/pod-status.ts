/**
 * The Pod status the agent reports, computed from its record of the pod (pure, so it is tested on
 * its own): phase, podIP(s) and hostIP(s), startTime, the conditions a kubelet sets and one
 * containerStatus per container. `statusSummary` is what decides whether a write is needed: the
 * facts without timestamps, so a restarted agent that finds the server already says the same
 * writes nothing, and a condition keeps its lastTransitionTime until its status really changes.
 */
import type { Condition, Pod, PodStatus } from '../api/types.ts';
import type { ContainerRecord, PodRecord } from './state.ts';

/** Whether the container is to be started again after its last exit. */
export function restartsAfter(policy: Pod['spec']['restartPolicy'], exitCode: number): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}

function isRunning(c: ContainerRecord): boolean {
  return c.pid !== undefined || (c.startedAt !== undefined && c.waiting === undefined && !c.lastExitFinal);
}

/** A container that ended and will not run again. */
function isFinished(c: ContainerRecord): boolean {
  return c.pid === undefined && c.lastExitFinal === true;
}

function containerState(c: ContainerRecord, sandboxError: string | undefined) {
  if (isRunning(c)) return { running: { startedAt: c.startedAt } };
  if (isFinished(c) && c.lastExit) {
    const e = c.lastExit;
    return {
      terminated: {
        exitCode: e.exitCode,
        reason: e.reason,
        ...(e.message ? { message: e.message } : {}),
        startedAt: e.startedAt ?? null,
        finishedAt: e.finishedAt,
      },
    };
  }
  const message = sandboxError ? `pod sandbox not set up: ${sandboxError}` : c.waiting?.message;
  return { waiting: { reason: c.waiting?.reason ?? 'ContainerCreating', ...(message ? { message } : {}) } };
}

function containerStatus(rec: PodRecord, c: ContainerRecord) {
  const running = isRunning(c);
  const lastState =
    c.lastExit && !isFinished(c)
      ? {
          terminated: {
            exitCode: c.lastExit.exitCode,
            reason: c.lastExit.reason,
            startedAt: c.lastExit.startedAt ?? null,
            finishedAt: c.lastExit.finishedAt,
          },
        }
      : {};
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ...(c.startedAt ? { containerID: `kdp://${rec.uid}/${c.name}` } : {}),
    ready: running && c.readyAt !== undefined,
    started: running,
    restartCount: c.restartCount,
    state: containerState(c, rec.sandboxReady ? undefined : rec.sandboxError),
    lastState,
  };
}

function podPhase(rec: PodRecord): NonNullable<PodStatus['phase']> {
  if (!rec.sandboxReady) return 'Pending';
  const cs = rec.containers;
  if (cs.length > 0 && cs.every(isFinished)) {
    return cs.every((c) => c.lastExit?.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  if (cs.some((c) => isRunning(c) || c.restartCount > 0 || c.lastExit)) return 'Running';
  return 'Pending';
}

interface ConditionFact {
  type: string;
  ok: boolean;
  reason?: string;
}

function conditionFacts(rec: PodRecord): ConditionFact[] {
  const notReady = rec.containers
    .filter((c) => !(isRunning(c) && c.readyAt !== undefined))
    .map((c) => c.name);
  const ready = rec.sandboxReady && notReady.length === 0;
  const reason = ready ? undefined : rec.sandboxReady ? 'ContainersNotReady' : 'PodSandboxNotReady';
  return [
    { type: 'PodReadyToStartContainers', ok: rec.sandboxReady },
    { type: 'Initialized', ok: true },
    { type: 'Ready', ok: ready, reason },
    { type: 'ContainersReady', ok: ready, reason },
    { type: 'PodScheduled', ok: true },
  ];
}

/** The facts a status states, without timestamps: equal summaries need no write. */
export function statusSummary(status: PodStatus | undefined): string {
  const s = status ?? {};
  const conditions = (s.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();
  const containers = ((s.containerStatuses ?? []) as ReturnType<typeof containerStatus>[]).map((c) => {
    const kind = Object.keys(c.state ?? {})[0];
    const detail = c.state as Record<string, { reason?: string; exitCode?: number } | undefined>;
    return [
      c.name,
      c.ready,
      c.restartCount,
      kind,
      detail?.[kind]?.reason ?? '',
      detail?.[kind]?.exitCode ?? '',
    ];
  });
  return JSON.stringify([s.phase, s.podIP ?? '', s.hostIP ?? '', s.startTime ?? '', conditions, containers]);
}

/**
 * The status to report for `rec`. Conditions whose status the server already has keep their
 * lastTransitionTime from `current`; others change now.
 */
export function podStatus(
  rec: PodRecord,
  hostIP: string | undefined,
  current: PodStatus | undefined,
  now: string,
): PodStatus {
  const previous = new Map((current?.conditions ?? []).map((c) => [c.type, c]));
  const conditions: Condition[] = conditionFacts(rec).map((f) => {
    const status = f.ok ? 'True' : 'False';
    const before = previous.get(f.type);
    return {
      type: f.type,
      status,
      ...(f.reason ? { reason: f.reason } : {}),
      lastProbeTime: null,
      lastTransitionTime:
        before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  });
  const ip = rec.sandboxReady ? rec.ip : undefined;
  return {
    phase: podPhase(rec),
    conditions,
    ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
    ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
    startTime: rec.createdAt,
    containerStatuses: rec.containers.map((c) => containerStatus(rec, c)),
  };
}
