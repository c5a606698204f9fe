/**
 * Runs a kernel integration test body with a unique cluster name (namespaces `kdp-t<random>-`)
 * and a real Kernel narrowed to that prefix, then always removes every namespace with the prefix
 * and checks that none is left and that the host's root namespace is exactly as before, also
 * when the body failed (its failure is reported first, the root diff as a diagnostic).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { clusterPrefix } from '../../../dataplane/cluster/topology-names.ts';
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';
import { createIproute2Kernel } from '../../../dataplane/kernel/iproute2/kernel.ts';
import { diffSnapshots, snapshotRoot } from '../helpers/root-snapshot.ts';

export function uniqueCluster(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

export async function withIsolatedKernel(
  t: TestContext,
  body: (kernel: Kernel, cluster: string) => Promise<void>,
): Promise<void> {
  const before = await snapshotRoot();
  const cluster = uniqueCluster();
  const kernel = createIproute2Kernel({ prefix: clusterPrefix(cluster) });
  let failure: unknown;
  try {
    await body(kernel, cluster);
  } catch (e) {
    failure = e;
  } finally {
    await kernel.netns.deleteMany(await kernel.netns.list(kernel.prefix)).catch((e) => (failure ??= e));
  }
  const left = await kernel.netns.list(kernel.prefix);
  const diff = diffSnapshots(before, await snapshotRoot());
  if (failure !== undefined) {
    if (left.length || diff.length)
      t.diagnostic(`after the failure: left ${left.join(', ')}; root diff:\n${diff.join('\n')}`);
    throw failure;
  }
  assert.deepEqual(left, [], 'namespaces with the test prefix left behind');
  assert.deepEqual(diff, [], 'the host root namespace changed');
}
