import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deployment, ReplicaSet } from '../../../dataplane/api/types.ts';
import { causeFor, DEPLOYMENTS, invalidCauses, newRegistry, REPLICASETS } from './strategy-fixture.ts';

function deployment(name: string, spec: Record<string, unknown> = {}): unknown {
  return {
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
      },
      ...spec,
    },
  };
}

test('deployments get upstream defaults and a generation', () => {
  const { registry } = newRegistry();
  const d = registry.create(DEPLOYMENTS, 'default', deployment('web')) as Deployment;
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
  });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  assert.equal(d.metadata.generation, 1);
  const scaled = registry.patch(DEPLOYMENTS, 'default', 'web', 'merge', {
    spec: { replicas: 3 },
  }) as Deployment;
  assert.equal(scaled.metadata.generation, 2);
  const labelled = registry.patch(DEPLOYMENTS, 'default', 'web', 'merge', {
    metadata: { labels: { a: 'b' } },
  }) as Deployment;
  assert.equal(labelled.metadata.generation, 2, 'metadata changes do not bump the generation');
  // A PUT of the manifest as first applied (no defaults in it) changes nothing: no new generation.
  const replaced = registry.update(DEPLOYMENTS, 'default', 'web', {
    ...(deployment('web') as object),
    spec: { ...(deployment('web') as { spec: object }).spec, replicas: 3 },
  }) as Deployment;
  assert.equal(replaced.metadata.generation, 2);
  const recreate = registry.create(
    DEPLOYMENTS,
    'default',
    deployment('db', { strategy: { type: 'Recreate' } }),
  ) as Deployment;
  assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });
});

test('deployment validation: selector, template labels, replicas, rollout', () => {
  const { registry } = newRegistry();
  const mismatch = invalidCauses(() =>
    registry.create(
      DEPLOYMENTS,
      'default',
      deployment('web', { selector: { matchLabels: { app: 'other' } } }),
    ),
  );
  assert.equal(
    causeFor(mismatch, 'spec.template.metadata.labels').message,
    'Invalid value: {"app":"web"}: `selector` does not match template `labels`',
  );
  const causes = invalidCauses(() =>
    registry.create(
      DEPLOYMENTS,
      'default',
      deployment('bad', {
        replicas: -1,
        selector: {},
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } },
      }),
    ),
  );
  assert.equal(
    causeFor(causes, 'spec.replicas').message,
    'Invalid value: -1: must be greater than or equal to 0',
  );
  assert.equal(
    causeFor(causes, 'spec.selector').message,
    'Invalid value: {}: empty selector is invalid for deployment',
  );
  assert.equal(
    causeFor(causes, 'spec.strategy.rollingUpdate.maxUnavailable').message,
    'Invalid value: "0%": may not be 0 when `maxSurge` is 0',
  );
  const noSelector = invalidCauses(() =>
    registry.create(DEPLOYMENTS, 'default', deployment('x', { selector: null })),
  );
  assert.equal(causeFor(noSelector, 'spec.selector').reason, 'FieldValueRequired');
  const percent = invalidCauses(() =>
    registry.create(
      DEPLOYMENTS,
      'default',
      deployment('y', { strategy: { rollingUpdate: { maxSurge: 'lots' } } }),
    ),
  );
  assert.match(causeFor(percent, 'spec.strategy.rollingUpdate.maxSurge').message!, /a valid percent string/);
  const never = invalidCauses(() =>
    registry.create(DEPLOYMENTS, 'default', {
      metadata: { name: 'z' },
      spec: {
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['z'] }] },
        template: {
          metadata: { labels: { app: 'z' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] },
        },
      },
    }),
  );
  assert.equal(
    causeFor(never, 'spec.template.spec.restartPolicy').message,
    'Unsupported value: "Never": supported values: "Always"',
  );
});

test('the selector is immutable; replicasets share the workload rules', () => {
  const { registry } = newRegistry();
  registry.create(DEPLOYMENTS, 'default', deployment('web'));
  const causes = invalidCauses(() =>
    registry.patch(DEPLOYMENTS, 'default', 'web', 'merge', {
      spec: {
        selector: { matchLabels: { app: 'web', v: '2' } },
        template: { metadata: { labels: { v: '2' } } },
      },
    }),
  );
  assert.equal(
    causeFor(causes, 'spec.selector').message,
    'Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable',
  );
  const rs = registry.create(REPLICASETS, 'default', deployment('web-abc')) as ReplicaSet;
  assert.equal(rs.spec.replicas, 1);
  assert.equal(rs.metadata.generation, 1);
  const empty = invalidCauses(() =>
    registry.create(REPLICASETS, 'default', deployment('e', { selector: { matchLabels: {} } })),
  );
  assert.equal(
    causeFor(empty, 'spec.selector').message,
    'Invalid value: {"matchLabels":{}}: empty selector is invalid for replicaset',
  );
  const scaled = registry.updateScale(REPLICASETS, 'default', 'web-abc', { spec: { replicas: 4 } });
  assert.deepEqual(scaled.spec, { replicas: 4 });
});
