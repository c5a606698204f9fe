/**
 * `kdp run scenarios/quickstart.ts`: the scenario brings up two nodes, a Deployment of three
 * kdp/http pods behind a Service and a client pod, calls the Service's ClusterIP (programmed by
 * the nodes' iptables proxies), prints which pod answered each request, and leaves nothing behind.
 * Run as root: node --import tsx --test test/integration/cluster/quickstart.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { kdp, uniqueCluster, withRootUnchanged } from './helpers.ts';

const QUICKSTART = fileURLToPath(new URL('../../../scenarios/quickstart.ts', import.meta.url));

test('the quickstart scenario reaches all three pods through the ClusterIP and cleans up', async (t) => {
  const cluster = uniqueCluster();
  await withRootUnchanged(t, cluster, async () => {
    // 30 random picks among 3 pods miss one with probability 3 x (2/3)^30, about 1.6e-5.
    const r = await kdp(['run', QUICKSTART, '--name', cluster, '--requests', '30']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const clusterIP = /service\/web: ClusterIP (10\.96\.\d+\.\d+):80 -> /.exec(r.stdout)?.[1];
    assert.ok(clusterIP, r.stdout);
    const answers = [
      ...r.stdout.matchAll(
        /^request \d+: client \(node-1\) -> (\S+):80 answered by (web-\S+) \(node-\d\)$/gm,
      ),
    ];
    assert.equal(answers.length, 30, r.stdout);
    assert.ok(
      answers.every((m) => m[1] === clusterIP),
      'every request went to the ClusterIP',
    );
    assert.equal(new Set(answers.map((m) => m[2])).size, 3, 'three different pods answered');
    assert.match(r.stdout, /^3 of 3 pods answered/m);
  });
});
