/**
 * `kdp run scenarios/quickstart.ts`: the scenario brings up two nodes, a Deployment of three
 * kdp/http pods behind a Service and a client pod, calls the Service's endpoints round-robin,
 * prints which pod answered each request, and leaves nothing behind.
 * Run as root: node --import tsx --test test/integration/cluster/quickstart.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { kdp, uniqueCluster, withRootUnchanged } from './helpers.ts';

const QUICKSTART = fileURLToPath(new URL('../../../scenarios/quickstart.ts', import.meta.url));

test('the quickstart scenario answers from all three pods round-robin and cleans up', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    const r = await kdp(['run', QUICKSTART, '--name', cluster, '--requests', '6']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const answers = [
      ...r.stdout.matchAll(/^request \d+: client -> \S+ \(node-\d\) answered by (web-\S+)$/gm),
    ].map((m) => m[1]);
    assert.equal(answers.length, 6, r.stdout);
    assert.equal(new Set(answers).size, 3, 'three different pods answered');
    assert.deepEqual(answers.slice(3), answers.slice(0, 3), 'round-robin: the same order twice');
    assert.match(r.stdout, /ClusterIP 10\.96\.\S+ answers once a service proxy runs/);
  });
});
