// The Pod status computed from the agent's record: phase, addresses, conditions and container
// states, and the summary that decides whether a write is needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podStatus, restartsAfter, statusSummary } from '../../../dataplane/agent/pod-status.ts';
import type { PodRecord } from '../../../dataplane/agent/state.ts';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:00:05Z';

function record(over: Partial<PodRecord> = {}): PodRecord {
  return {
    uid: 'u1',
    namespace: 'default',
    name: 'web',
    hostNetwork: false,
    netns: 'kdp-c-pod-default.web',
    veth: 'veth12345678',
    ip: '10.244.0.2',
    createdAt: T0,
    sandboxReady: true,
    containers: [
      { name: 'app', image: 'kdp/http', restartCount: 0, pid: 10, pidStart: 1, startedAt: T0, readyAt: T0 },
    ],
    ...over,
  };
}

test('a running, ready pod reports Running, its addresses and Ready conditions', () => {
  const s = podStatus(record(), '198.18.0.1', undefined, T1);
  assert.equal(s.phase, 'Running');
  assert.equal(s.podIP, '10.244.0.2');
  assert.deepEqual(s.podIPs, [{ ip: '10.244.0.2' }]);
  assert.deepEqual(s.hostIPs, [{ ip: '198.18.0.1' }]);
  assert.equal(s.startTime, T0);
  assert.deepEqual(
    s.conditions!.map((c) => [c.type, c.status]),
    [
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ],
  );
  assert.deepEqual(s.containerStatuses, [
    {
      name: 'app',
      image: 'kdp/http',
      imageID: '',
      containerID: 'kdp://u1/app',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: T0 } },
      lastState: {},
    },
  ]);
});

test('conditions keep their transition time until their status changes', () => {
  const first = podStatus(
    record({ containers: [{ name: 'app', image: 'kdp/http', restartCount: 0, pid: 10, startedAt: T0 }] }),
    'h',
    undefined,
    T0,
  );
  assert.equal(first.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
  const second = podStatus(record(), 'h', first, T1);
  const at = (type: string) => second.conditions!.find((c) => c.type === type)!.lastTransitionTime;
  assert.equal(at('Ready'), T1);
  assert.equal(at('PodScheduled'), T0);
  assert.notEqual(statusSummary(first), statusSummary(second));
  assert.equal(
    statusSummary(second),
    statusSummary(podStatus(record(), 'h', second, '2030-01-01T00:00:00Z')),
  );
});

test('no sandbox yet is Pending with the reason; finished containers end the pod', () => {
  const pending = podStatus(
    record({
      sandboxReady: false,
      sandboxError: 'no free pod address',
      containers: [{ name: 'app', image: 'x', restartCount: 0, waiting: { reason: 'ContainerCreating' } }],
    }),
    'h',
    undefined,
    T0,
  );
  assert.equal(pending.phase, 'Pending');
  assert.equal(pending.podIP, undefined);
  assert.deepEqual((pending.containerStatuses![0] as { state: unknown }).state, {
    waiting: { reason: 'ContainerCreating', message: 'pod sandbox not set up: no free pod address' },
  });
  const exit = { exitCode: 0, reason: 'Completed', startedAt: T0, finishedAt: T1 };
  const done = podStatus(
    record({
      containers: [
        { name: 'app', image: 'x', restartCount: 0, startedAt: T0, lastExit: exit, lastExitFinal: true },
      ],
    }),
    'h',
    undefined,
    T1,
  );
  assert.equal(done.phase, 'Succeeded');
  const failed = podStatus(
    record({
      containers: [
        {
          name: 'app',
          image: 'x',
          restartCount: 0,
          startedAt: T0,
          lastExit: { ...exit, exitCode: 2, reason: 'Error' },
          lastExitFinal: true,
        },
      ],
    }),
    'h',
    undefined,
    T1,
  );
  assert.equal(failed.phase, 'Failed');
  const backoff = podStatus(
    record({
      containers: [
        {
          name: 'app',
          image: 'x',
          restartCount: 1,
          startedAt: T0,
          lastExit: exit,
          waiting: { reason: 'CrashLoopBackOff' },
        },
      ],
    }),
    'h',
    undefined,
    T1,
  );
  assert.equal(backoff.phase, 'Running');
  assert.deepEqual((backoff.containerStatuses![0] as { lastState: unknown }).lastState, {
    terminated: { exitCode: 0, reason: 'Completed', startedAt: T0, finishedAt: T1 },
  });
});

test('restartPolicy decides whether an exit restarts the container', () => {
  assert.equal(restartsAfter(undefined, 0), true);
  assert.equal(restartsAfter('OnFailure', 0), false);
  assert.equal(restartsAfter('OnFailure', 1), true);
  assert.equal(restartsAfter('Never', 1), false);
});
