// The pure parts of the cluster commands: `kdp up` flags over a topology file (bad values are
// usage errors naming the flag or the file's field), `kdp apply` manifests (several documents,
// Lists, empty documents) and kubectl-style names, and the plain table format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findResource } from '../../../dataplane/api/resources.ts';
import { displayName, parseManifests } from '../../../dataplane/cli/commands/apply.ts';
import { topologyFromFlags } from '../../../dataplane/cli/commands/up.ts';
import { formatTable } from '../../../dataplane/cli/table.ts';
import { isKdpError } from '../../../dataplane/errors.ts';

const usage = (pattern: RegExp) => (e: unknown) => {
  assert.ok(isKdpError(e, 'KDP_ERR_USAGE'), String(e));
  assert.match(e.message, pattern);
  return true;
};

test('kdp up: flags become a topology, and override the file', () => {
  assert.deepEqual(topologyFromFlags({ name: 'lab', nodes: '3', podsPerNode: '4' }), {
    cluster: 'lab',
    nodes: 3,
    podsPerNode: 4,
  });
  const file = join(mkdtempSync(join(tmpdir(), 'kdpt-')), 'topo.yaml');
  writeFileSync(file, 'cluster: fromfile\nnodes: 5\nmtu: 9000\n');
  assert.deepEqual(topologyFromFlags({ topology: file, nodes: '2' }), {
    cluster: 'fromfile',
    nodes: 2,
    mtu: 9000,
  });
});

test('kdp up: bad values are usage errors that name the flag or the field of the file', () => {
  assert.throws(() => topologyFromFlags({ nodes: 'two' }), usage(/^--nodes: must be an integer/));
  assert.throws(() => topologyFromFlags({ podsPerNode: '-1' }), usage(/^--pods-per-node: /));
  assert.throws(() => topologyFromFlags({ name: 'Bad_Name' }), usage(/^--name: must be a DNS label/));
  assert.throws(() => topologyFromFlags({ overlay: 'gre' }), usage(/^--overlay: must be one of host-gw/));
  assert.throws(
    () => topologyFromFlags({ overlay: 'vxlan', overlayEngine: 'baseline' }),
    usage(/^--overlay-engine: the vxlan backend has no engine option/),
  );
  assert.throws(
    () => topologyFromFlags({ overlay: 'udp', overlayEngine: 'turbo' }),
    usage(/^--overlay-engine: the udp backend's engine must be batched, baseline or batched-no-offload/),
  );
  const file = join(mkdtempSync(join(tmpdir(), 'kdpt-')), 'topo.yaml');
  writeFileSync(file, 'mtu: 12\n');
  assert.throws(
    () => topologyFromFlags({ topology: file }),
    usage(new RegExp(`^${file}: mtu: must be an integer`)),
  );
  assert.throws(
    () => topologyFromFlags({ topology: '/nonexistent.yaml' }),
    usage(/^--topology "\/nonexistent.yaml": ENOENT/),
  );
});

test('kdp apply: documents, Lists and empty documents', () => {
  const objs = parseManifests(
    [
      'apiVersion: v1\nkind: Service\nmetadata: {name: a}',
      '',
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}',
    ].join('\n---\n'),
    'f.yaml',
  );
  assert.deepEqual(
    objs.map((o) => `${o.kind}/${o.metadata.name}`),
    ['Service/a', 'Pod/p', 'Deployment/d'],
  );
  assert.throws(() => parseManifests('a: [1,\n', 'bad.yaml'), usage(/^bad.yaml: document 1 does not parse/));
  assert.throws(() => parseManifests('- 1\n- 2\n', 'list.yaml'), usage(/not a Kubernetes object/));
  assert.equal(displayName(findResource('apps', 'deployments')!, 'web'), 'deployment.apps/web');
  assert.equal(displayName(findResource('', 'services')!, 'web'), 'service/web');
});

test('tables are padded like kubectl output', () => {
  assert.equal(
    formatTable(
      ['NAME', 'IP'],
      [
        ['pod-1', '10.244.0.2'],
        ['p', '-'],
      ],
    ),
    'NAME    IP\npod-1   10.244.0.2\np       -',
  );
});
