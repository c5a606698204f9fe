// Validation of securityContext (pod and container level) on create, through the registry: the
// causes upstream gives (ids in range, booleans, the privilege-escalation contradictions), plus
// kdp's refusal of unknown capability names; valid contexts are stored as given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../dataplane/api/types.ts';
import { causeFor, invalidCauses, newRegistry, PODS } from './strategy-fixture.ts';

const pod = (spec: Record<string, unknown>) => ({ metadata: { name: 'p' }, spec });
const container = (securityContext: unknown) => ({ name: 'c', image: 'busybox', securityContext });

test('valid security contexts are accepted and kept', () => {
  const { registry } = newRegistry();
  const p = registry.create(
    PODS,
    'default',
    pod({
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 1000,
        runAsNonRoot: true,
        supplementalGroups: [5],
        fsGroup: 7,
      },
      containers: [
        container({
          runAsUser: 0,
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { add: ['NET_ADMIN', 'CAP_NET_RAW'], drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        }),
      ],
    }),
  ) as Pod;
  assert.equal(p.spec.securityContext?.fsGroup, 7);
  assert.deepEqual(p.spec.containers[0].securityContext?.capabilities?.add, ['NET_ADMIN', 'CAP_NET_RAW']);
});

test('bad security contexts give one cause per field, worded as upstream', () => {
  const { registry } = newRegistry();
  const causes = invalidCauses(() =>
    registry.create(
      PODS,
      'default',
      pod({
        securityContext: {
          runAsUser: -1,
          runAsGroup: 2147483648,
          fsGroup: 1.5,
          supplementalGroups: [1, 'x'],
          runAsNonRoot: 'yes',
        },
        containers: [
          container({ runAsUser: 'root', privileged: 1, capabilities: { add: ['FLY', 7], drop: 'ALL' } }),
          { ...container({ privileged: true, allowPrivilegeEscalation: false }), name: 'd' },
          {
            ...container({ capabilities: { add: ['CAP_SYS_ADMIN'] }, allowPrivilegeEscalation: false }),
            name: 'e',
          },
          { ...container('strict'), name: 'f' },
        ],
      }),
    ),
  );
  const msg = (field: string) => causeFor(causes, field).message ?? '';
  assert.equal(
    msg('spec.securityContext.runAsUser'),
    'Invalid value: -1: must be between 0 and 2147483647, inclusive',
  );
  assert.match(msg('spec.securityContext.runAsGroup'), /2147483648: must be between 0 and 2147483647/);
  assert.match(msg('spec.securityContext.fsGroup'), /must be an integer/);
  assert.match(msg('spec.securityContext.supplementalGroups[1]'), /"x": must be an integer/);
  assert.match(msg('spec.securityContext.runAsNonRoot'), /must be a boolean/);
  assert.match(msg('spec.containers[0].securityContext.runAsUser'), /must be an integer/);
  assert.match(msg('spec.containers[0].securityContext.privileged'), /must be a boolean/);
  assert.match(
    msg('spec.containers[0].securityContext.capabilities.add[0]'),
    /"FLY": must be a Linux capability/,
  );
  assert.match(msg('spec.containers[0].securityContext.capabilities.add[1]'), /7: must be a string/);
  assert.match(msg('spec.containers[0].securityContext.capabilities.drop'), /must be a list/);
  assert.match(
    msg('spec.containers[1].securityContext'),
    /cannot set `allowPrivilegeEscalation` to false and `privileged` to true/,
  );
  assert.match(
    msg('spec.containers[2].securityContext'),
    /cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN/,
  );
  assert.match(msg('spec.containers[3].securityContext'), /must be an object/);
  assert.equal(causes.length, 13, JSON.stringify(causes));
});
