/**
 * The attach guards (no kernel): only kdp namespaces, valid interface names, and cgroups strictly
 * inside kdp's subtree pass; the host's namespace (no name), other namespaces, the root cgroup,
 * kdp's cgroup root itself and paths that climb out with .. are refused before any call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import { kdpCgroupPath, removeCgroupTree } from '../../../dataplane/ebpf/cgroup.ts';
import {
  assertAttachCgroup,
  assertAttachNamespace,
  isStrictlyUnder,
  KDP_CGROUP_ROOT,
} from '../../../dataplane/ebpf/guard.ts';

test('namespaces: kdp-* only, never the host', () => {
  assertAttachNamespace('kdp-a-n1', 'eth0');
  assert.throws(
    () => assertAttachNamespace('', 'eth0'),
    (e) => isKdpError(e, 'KDP_ERR_KERNEL_HOST_NAMESPACE'),
  );
  assert.throws(
    () => assertAttachNamespace('docker1', 'eth0'),
    (e) => isKdpError(e, 'KDP_ERR_KERNEL_HOST_NAMESPACE'),
  );
  assert.throws(() => assertAttachNamespace('kdp-b-n1', 'eth0', 'kdp-a-'), /does not start with "kdp-a-"/);
  assert.throws(
    () => assertAttachNamespace('kdp-a-n1', 'eth0', 'other-'),
    (e) => isKdpError(e, 'KDP_ERR_BPF_HOST_TARGET'),
  );
  assert.throws(() => assertAttachNamespace('kdp-a-n1', 'a/b'), /may only hold/);
});

test('cgroups: strictly under the kdp subtree, after resolving the path', () => {
  assert.ok(isStrictlyUnder(`${KDP_CGROUP_ROOT}/a`, KDP_CGROUP_ROOT));
  assert.ok(!isStrictlyUnder(KDP_CGROUP_ROOT, KDP_CGROUP_ROOT));
  assert.ok(
    !isStrictlyUnder(`${KDP_CGROUP_ROOT}x/a`, KDP_CGROUP_ROOT),
    'a sibling with a longer name is outside',
  );
  const host = (e: unknown) => isKdpError(e, 'KDP_ERR_BPF_HOST_TARGET');
  assert.throws(() => assertAttachCgroup('/sys/fs/cgroup/unified'), host);
  assert.throws(() => assertAttachCgroup('/'), host);
  assert.throws(() => assertAttachCgroup(`${KDP_CGROUP_ROOT}/../`), host);
  assert.throws(() => assertAttachCgroup(`${KDP_CGROUP_ROOT}/x`, '/sys/fs/cgroup/unified'), host);
});

test('cgroup names are validated and removal refuses anything outside the subtree', async () => {
  assert.equal(kdpCgroupPath('c1', 'pod-1'), `${KDP_CGROUP_ROOT}/c1/pod-1`);
  assert.throws(() => kdpCgroupPath('..'), /cgroup name "\.\." must be/);
  assert.throws(() => kdpCgroupPath('c1', 'a/b'), /cgroup name/);
  await assert.rejects(removeCgroupTree('/sys/fs/cgroup/unified'), /refusing to remove/);
  await assert.rejects(removeCgroupTree(KDP_CGROUP_ROOT), /refusing to remove/);
});
