/**
 * The background-Services axis on a real 2-node iptables cluster (root): a smoke cell at N=1000.
 * The runner builds the cluster with the connbench server, measures tcp-crr with no background
 * Services, grows the cluster to 1,000 Services through the apiserver, waits until both nodes'
 * proxiers report them, times endpoint changes to the kernel, and measures tcp-crr again; the
 * results pass schema validation and the cluster leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readResults } from '../../../bench/lib/validate.ts';
import { writeOutputs } from '../../../bench/run/output.ts';
import { runMatrix } from '../../../bench/run/matrix-runner.ts';
import type { MatrixSpec } from '../../../bench/run/spec.ts';
import { CONNBENCH_BINARY } from '../../../bench/workloads/data/connbench.ts';
import { uniqueCluster, withRootUnchanged } from '../cluster/helpers.ts';

test(
  'a tcp-crr cell at N=1000 in iptables mode is measured and validates',
  { timeout: 600_000 },
  async (t) => {
    assert.ok(existsSync(CONNBENCH_BINARY), `${CONNBENCH_BINARY} is built by scripts/setup.sh`);
    const prefix = uniqueCluster();
    const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-scale-'));
    try {
      await withRootUnchanged(t, `${prefix}1`, async () => {
        const spec: MatrixSpec = {
          suite: 'custom',
          ...{
            modes: ['iptables'],
            backends: ['host-gw'],
            paths: ['pod-clusterip'],
            dataWorkloads: ['tcp-crr'],
          },
          ...{ controlWorkloads: [], trials: 2, warmup: 0, seconds: 1, seed: 5, quick: true },
          ...{ services: [0, 1000], endpointsPerService: 10 },
        };
        const results = await runMatrix(spec, { controlWorkloads: [], clusterPrefix: prefix });
        const out = join(dir, 'scale.json');
        writeOutputs(results, { out, markdown: join(dir, 'scale.md') });
        const doc = readResults(out);
        assert.deepEqual(
          doc.cells.map((c) => c.id),
          [
            'iptables/host-gw/pod-clusterip/tcp-crr/services=0',
            'iptables/host-gw/pod-clusterip/tcp-crr/services=1000',
            'iptables/host-gw/-/background-services/services=1000',
          ],
        );
        for (const c of doc.cells) assert.deepEqual(c.errors ?? [], [], c.id);
        const crr = doc.cells[1].metrics.find((m) => m.name === 'connections_per_s');
        assert.ok(
          crr && crr.trials.length === 2 && crr.summary.median > 0,
          'connections/s measured at N=1000',
        );
        const bg = Object.fromEntries(doc.cells[2].metrics.map((m) => [m.name, m]));
        // Behind every background Service in key order: the worst case for a linear dispatch chain.
        assert.ok(bg.dispatch_position.summary.median > 1000, String(bg.dispatch_position.summary.median));
        assert.ok(bg.service_ports.summary.median >= 1001);
        assert.ok(bg.programmed_s.summary.median > 0);
        assert.equal(bg.endpoint_change_ms.trials.length, 5);
        assert.ok(bg.endpoint_change_ms.trials.every((v) => v > 0));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
