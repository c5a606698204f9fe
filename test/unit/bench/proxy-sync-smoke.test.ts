/**
 * Smoke test of the proxy sync benchmark: `bench/proxy/sync.ts --quick --fake` (FakeIptables, no
 * root) runs end to end through the in-process apiserver and the proxier, and its JSON has every
 * phase with samples of the right kinds and counts. Shape and sanity only: no timing is compared
 * with a threshold (benchmarks measure, tests do not).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { SyncBenchResult } from '../../../bench/proxy/report.ts';

const RUN = join(import.meta.dirname, '..', '..', '..', 'bench', 'proxy', 'sync.ts');

const allPositive = (xs: number[], n: number, what: string) => {
  assert.equal(xs.length, n, `${what}: ${n} samples`);
  assert.ok(
    xs.every((x) => Number.isFinite(x) && x > 0),
    `${what}: positive and finite: ${xs.join(', ')}`,
  );
};

test('bench/proxy/sync.ts --quick --fake runs and reports every phase', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-smoke-'));
  try {
    const out = join(dir, 'r.json');
    const args = ['--import', 'tsx', RUN, '--quick', '--fake', '--changes', '5', '--churn-seconds', '1'];
    const { stdout } = await promisify(execFile)(process.execPath, [...args, '--out', out], {
      timeout: 120_000,
    });
    assert.match(stdout, /FAKE iptables/);
    assert.match(stdout, /\| 0\.1k x 10 \| \d+ \|/);
    const r = JSON.parse(readFileSync(out, 'utf8')) as SyncBenchResult;
    assert.equal(r.benchmark, 'proxy-sync');
    const [s] = r.sizes;
    assert.equal(s.services, 100);
    assert.ok(s.rules.nat > 3000, `nat rules: ${s.rules.nat}`);
    allPositive(s.fullEmpty.syncMs, 1, 'full sync, empty');
    allPositive(s.fullEmpty.rawMs, 1, 'raw restore, empty');
    allPositive(s.fullPresent.syncMs, 1, 'full sync, present');
    allPositive(s.partial.syncMs, 5, 'partial syncs');
    allPositive(s.partial.updateToKernelMs, 5, 'update to kernel');
    assert.equal(s.churn.samplesMs.length, s.churn.changes, 'one latency sample per change');
    assert.equal(s.churn.histogramCount, s.churn.changes, 'the histogram counted each change');
    assert.ok(s.churn.changes >= 10, `churn changes: ${s.churn.changes}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
