import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../dataplane/api/errors.ts';
import { applyPatch, type PatchType } from '../../../dataplane/api/registry/patch.ts';
import type { Deployment, Service } from '../../../dataplane/api/types.ts';
import { DEPLOYMENTS, expectApiError, newRegistry, SERVICES } from './strategy-fixture.ts';

function frozen<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}

/** Applies a patch to frozen inputs, so any change to them throws. */
function patch(type: PatchType, current: unknown, body: unknown, kind = 'Deployment'): any {
  return applyPatch(type, frozen(structuredClone(current)), frozen(structuredClone(body)), kind);
}

function badPatch(type: PatchType, current: unknown, body: unknown, kind = 'Deployment'): string {
  const e = expectApiError(() => patch(type, current, body, kind), 'BadRequest');
  assert.equal(e.httpCode, 400);
  assert.match(e.message, /^unable to apply patch: /);
  return e.message;
}

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web', tier: 'front' }, finalizers: ['a/x', 'b/y'] },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.26',
            args: ['-a', '-b'],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            ports: [{ containerPort: 80, protocol: 'TCP' }],
          },
          { name: 'sidecar', image: 'envoy:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
};

test('merge patch (RFC 7386): objects merge, null deletes, lists replace', () => {
  const out = patch('merge', deployment, {
    metadata: { labels: { tier: null, team: 'net' } },
    spec: { replicas: 3, template: { spec: { volumes: [{ name: 'cache' }] } } },
  });
  assert.deepEqual(out.metadata.labels, { app: 'web', team: 'net' });
  assert.equal(out.spec.replicas, 3);
  assert.deepEqual(out.spec.template.spec.volumes, [{ name: 'cache' }]);
  assert.equal(out.spec.template.spec.containers.length, 2, 'untouched fields stay');
  const nested = patch('merge', { a: 1 }, { b: { c: null, d: { e: 1 } } });
  assert.deepEqual(nested, { a: 1, b: { d: { e: 1 } } });
  badPatch('merge', deployment, [1, 2]);
});

test('strategic merge: containers by name, env by name, ports by containerPort, other lists replace', () => {
  const out = patch('strategic', deployment, {
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'web',
              image: 'nginx:1.27',
              args: ['-c'],
              env: [
                { name: 'B', value: '20' },
                { name: 'C', value: '3' },
              ],
              ports: [{ containerPort: 443 }],
            },
          ],
        },
      },
    },
  });
  const [web, sidecar] = out.spec.template.spec.containers;
  assert.equal(web.image, 'nginx:1.27');
  assert.deepEqual(web.args, ['-c']);
  assert.deepEqual(web.env, [
    { name: 'A', value: '1' },
    { name: 'B', value: '20' },
    { name: 'C', value: '3' },
  ]);
  assert.deepEqual(web.ports, [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }]);
  assert.deepEqual(sidecar, { name: 'sidecar', image: 'envoy:1' }, 'the other container is kept');
});

test('strategic merge: what kubectl apply sends (setElementOrder, $patch delete, retainKeys, primitive lists)', () => {
  // Image change with the container order kubectl apply computes from the manifest.
  let out = patch('strategic', deployment, {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }],
          containers: [{ name: 'web', image: 'nginx:1.27' }],
        },
      },
    },
  });
  assert.deepEqual(
    out.spec.template.spec.containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`),
    ['sidecar=envoy:1', 'web=nginx:1.27'],
  );
  // A container removed from the manifest.
  out = patch('strategic', deployment, {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }],
          containers: [{ $patch: 'delete', name: 'sidecar' }],
        },
      },
    },
  });
  assert.deepEqual(
    out.spec.template.spec.containers.map((c: { name: string }) => c.name),
    ['web'],
  );
  // Strategy switched to Recreate: $retainKeys drops rollingUpdate.
  out = patch('strategic', deployment, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
  // A finalizer removed, one added, order given.
  out = patch('strategic', deployment, {
    metadata: {
      '$deleteFromPrimitiveList/finalizers': ['a/x'],
      '$setElementOrder/finalizers': ['c/z', 'b/y'],
      finalizers: ['c/z'],
    },
  });
  assert.deepEqual(out.metadata.finalizers, ['c/z', 'b/y']);
  // A new element placed before an existing one by the order list.
  out = patch('strategic', deployment, {
    spec: {
      template: {
        spec: {
          '$setElementOrder/volumes': [{ name: 'cache' }, { name: 'data' }],
          volumes: [{ name: 'cache', emptyDir: {} }],
        },
      },
    },
  });
  assert.deepEqual(
    out.spec.template.spec.volumes.map((v: { name: string }) => v.name),
    ['cache', 'data'],
  );
});

test('strategic merge: $patch replace on lists and maps, $patch delete on maps, null deletes', () => {
  let out = patch('strategic', deployment, {
    spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } } },
  });
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
  out = patch('strategic', deployment, { metadata: { labels: { $patch: 'replace', fresh: 'yes' } } });
  assert.deepEqual(out.metadata.labels, { fresh: 'yes' });
  out = patch('strategic', deployment, { spec: { strategy: { $patch: 'delete' } } });
  assert.equal(out.spec.strategy, undefined);
  out = patch('strategic', deployment, {
    spec: { template: { spec: { containers: [{ name: 'web', env: null }] } } },
  });
  assert.equal(out.spec.template.spec.containers[0].env, undefined);
  assert.match(
    badPatch('strategic', deployment, { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }),
    /does not contain declared merge key: name/,
  );
  badPatch('strategic', deployment, { spec: { $patch: 'explode' } });
});

test('strategic merge: Service ports by port, Node addresses by type, Pod conditions by type', () => {
  const svc = {
    kind: 'Service',
    metadata: { name: 's' },
    spec: {
      ports: [
        { name: 'http', port: 80, nodePort: 30080 },
        { name: 'https', port: 443 },
      ],
    },
  };
  let out = patch(
    'strategic',
    svc,
    {
      spec: {
        '$setElementOrder/ports': [{ port: 80 }],
        ports: [
          { $patch: 'delete', port: 443 },
          { port: 80, targetPort: 8080 },
        ],
      },
    },
    'Service',
  );
  assert.deepEqual(out.spec.ports, [{ name: 'http', port: 80, nodePort: 30080, targetPort: 8080 }]);
  const node = {
    kind: 'Node',
    metadata: { name: 'n' },
    status: {
      addresses: [
        { type: 'InternalIP', address: '198.18.0.2' },
        { type: 'Hostname', address: 'n' },
      ],
    },
  };
  out = patch(
    'strategic',
    node,
    { status: { addresses: [{ type: 'InternalIP', address: '198.18.0.3' }] } },
    'Node',
  );
  assert.deepEqual(out.status.addresses, [
    { type: 'InternalIP', address: '198.18.0.3' },
    { type: 'Hostname', address: 'n' },
  ]);
  const pod = {
    kind: 'Pod',
    metadata: { name: 'p' },
    status: {
      conditions: [
        { type: 'Ready', status: 'False' },
        { type: 'PodScheduled', status: 'True' },
      ],
    },
  };
  out = patch('strategic', pod, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 'Pod');
  assert.deepEqual(out.status.conditions, [
    { type: 'Ready', status: 'True' },
    { type: 'PodScheduled', status: 'True' },
  ]);
  // Unknown kinds: maps merge, lists replace.
  out = patch('strategic', { metadata: {}, items: [1, 2] }, { items: [3] }, 'Event');
  assert.deepEqual(out.items, [3]);
});

test('JSON patch (RFC 6902): every op, pointer escaping, failing test', () => {
  const doc = { metadata: { name: 'x', annotations: { 'a/b': '1', 'c~d': '2' } }, list: [1, 2, 3] };
  const out = patch('json', doc, [
    { op: 'test', path: '/metadata/name', value: 'x' },
    { op: 'replace', path: '/metadata/annotations/a~1b', value: 'one' },
    { op: 'remove', path: '/metadata/annotations/c~0d' },
    { op: 'add', path: '/list/1', value: 9 },
    { op: 'add', path: '/list/-', value: 4 },
    { op: 'copy', from: '/list/0', path: '/first' },
    { op: 'move', from: '/first', path: '/metadata/labels' },
  ]);
  assert.deepEqual(out, {
    metadata: { name: 'x', annotations: { 'a/b': 'one' }, labels: 1 },
    list: [1, 9, 2, 3, 4],
  });
  assert.match(
    badPatch('json', doc, [{ op: 'test', path: '/metadata/name', value: 'y' }]),
    /test operation for path \/metadata\/name failed/,
  );
  badPatch('json', doc, [{ op: 'remove', path: '/nope' }]);
  badPatch('json', doc, [{ op: 'replace', path: '/list/3', value: 0 }]);
  badPatch('json', doc, [{ op: 'add', path: '/list/5', value: 0 }]);
  badPatch('json', doc, [{ op: 'frobnicate', path: '/list' }]);
  badPatch('json', doc, [{ op: 'move', from: '/metadata', path: '/metadata/x' }]);
  badPatch('json', doc, { op: 'add' });
});

test('server-side apply is refused with 415 and a pointer to client-side apply', () => {
  const e = expectApiError(
    () => applyPatch('apply', deployment, 'apiVersion: apps/v1', 'Deployment'),
    'UnsupportedMediaType',
  );
  assert.equal(e.httpCode, 415);
  assert.match(e.message, /kubectl apply/);
});

test('patches through the registry: strategic apply-style update, and errors leave the object alone', () => {
  const { registry } = newRegistry();
  registry.create(DEPLOYMENTS, 'default', {
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] },
      },
    },
  });
  const d = registry.patch(DEPLOYMENTS, 'default', 'web', 'strategic', {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }],
          containers: [{ name: 'web', image: 'nginx:1.27' }],
        },
      },
    },
  }) as Deployment;
  assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
  assert.equal(d.metadata.generation, 2);
  const e = expectApiError(
    () =>
      registry.patch(DEPLOYMENTS, 'default', 'web', 'json', [
        { op: 'test', path: '/spec/replicas', value: 5 },
      ]),
    'BadRequest',
  );
  assert.ok(e instanceof ApiError);
  assert.equal(
    (registry.get(DEPLOYMENTS, 'default', 'web') as Deployment).metadata.resourceVersion,
    d.metadata.resourceVersion,
  );
  registry.create(SERVICES, 'default', { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } });
  const s = registry.patch(SERVICES, 'default', 's', 'strategic', {
    spec: {
      ports: [
        { port: 81, name: 'b' },
        { port: 80, name: 'a' },
      ],
    },
  }) as Service;
  assert.deepEqual(
    s.spec.ports!.map((p) => `${p.name}:${p.port}`),
    ['a:80', 'b:81'],
  );
});
