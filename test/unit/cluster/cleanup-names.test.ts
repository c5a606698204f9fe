// Which namespaces `kdp cleanup --name C` takes: everything under kdp-C-, except the namespaces of
// another known cluster whose name extends C's (cluster "a" must not remove "a-b"'s fabric).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterNamespaces } from '../../../dataplane/cluster/cleanup.ts';

const ALL = [
  'kdp-a-fabric',
  'kdp-a-node-1',
  'kdp-a-pod-default.web',
  'kdp-a-b-fabric',
  'kdp-a-b-node-1',
  'kdp-ab-fabric',
  'kdp-b-fabric',
];

test('a cluster takes its prefix and leaves clusters with longer names alone', () => {
  assert.deepEqual(clusterNamespaces(ALL, 'a', ['a', 'a-b']), [
    'kdp-a-fabric',
    'kdp-a-node-1',
    'kdp-a-pod-default.web',
  ]);
  assert.deepEqual(clusterNamespaces(ALL, 'a-b', ['a', 'a-b']), ['kdp-a-b-fabric', 'kdp-a-b-node-1']);
});

test("without a state directory for the longer cluster, its leftovers count as the shorter one's", () => {
  assert.deepEqual(clusterNamespaces(ALL, 'a', []), [
    'kdp-a-fabric',
    'kdp-a-node-1',
    'kdp-a-pod-default.web',
    'kdp-a-b-fabric',
    'kdp-a-b-node-1',
  ]);
});
