/**
 * Smoke test of the apiserver benchmark: `bench/apiserver/run.ts --quick` runs end to end and its
 * result JSON has every metric with a sane value (positive, finite, counts as asked). It checks
 * shape and sanity only; timings are never compared with thresholds here (benchmarks measure,
 * tests do not).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const RUN = join(import.meta.dirname, '..', '..', '..', 'bench', 'apiserver', 'run.ts');

function positive(v: unknown, what: string): void {
  assert.equal(typeof v, 'number', `${what} is not a number: ${String(v)}`);
  assert.ok(Number.isFinite(v) && (v as number) > 0, `${what} is not positive and finite: ${String(v)}`);
}

/** CPU figures come in clock ticks (10 ms), so a short quick-mode phase may honestly read 0. */
function cpu(c: Record<string, unknown>, what: string): void {
  for (const k of ['serverUsPerOp', 'clientUsPerOp']) {
    assert.ok(
      Number.isFinite(c[k]) && (c[k] as number) >= 0,
      `${what} cpu.${k} is not finite and >= 0: ${String(c[k])}`,
    );
  }
}

function latency(l: Record<string, unknown>, what: string, samples: number): void {
  assert.equal(l.samples, samples, `${what}: samples`);
  for (const k of ['p50Ms', 'p99Ms', 'maxMs']) positive(l[k], `${what} ${k}`);
  assert.ok(
    (l.p50Ms as number) <= (l.p99Ms as number) && (l.p99Ms as number) <= (l.maxMs as number),
    `${what}: percentiles out of order`,
  );
}

test('bench/apiserver --quick writes a result with every metric sane', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'result.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', RUN, '--quick', '--out', out],
    {
      timeout: 170_000,
    },
  );
  assert.match(stdout, /\| Creates \(Services over HTTP\)/);
  assert.match(stdout, /\| Watch delivery/);

  const r = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(r.benchmark, 'apiserver');
  assert.equal(r.mode, 'quick');
  assert.ok(!Number.isNaN(Date.parse(r.date)), 'date');
  positive(r.machine.nproc, 'machine.nproc');
  for (const k of ['cpu', 'kernel', 'node'])
    assert.ok(typeof r.machine[k] === 'string' && r.machine[k], `machine.${k}`);

  assert.deepEqual([...new Set(r.creates.map((c: { store: string }) => c.store))].sort(), [
    'memory',
    'sqlite',
  ]);
  for (const c of r.creates) {
    const what = `creates ${c.store} c=${c.concurrency}`;
    for (const k of ['count', 'concurrency', 'seconds', 'perSecond']) positive(c[k], `${what} ${k}`);
    latency(c.latency, what, c.count);
    cpu(c.cpu, what);
  }
  // Hundreds of creates cost the server well over one clock tick.
  positive(r.creates[0].cpu.serverUsPerOp, 'creates server CPU');

  assert.equal(r.lists.length, 3);
  const created = r.creates[0].count;
  const [all, selected, page] = r.lists;
  assert.equal(all.items, created + 1, 'the full list has every created Service and `kubernetes`');
  assert.ok(selected.items > 0 && selected.items < all.items, 'the label-selected list is a proper subset');
  assert.ok(page.items > 0 && page.items <= 500, 'the first page has at most 500 items');
  for (const l of r.lists) {
    positive(l.bytes, `${l.name} bytes`);
    positive(l.latency.samples, `${l.name} samples`);
    latency(l.latency, l.name, l.latency.samples);
    cpu(l.cpu, l.name);
  }

  positive(r.watch.watchers, 'watch.watchers');
  positive(r.watch.events, 'watch.events');
  assert.equal(r.watch.delivered, r.watch.watchers * r.watch.events, 'every watcher got every event');
  latency(r.watch.latency, 'watch', r.watch.delivered);
  cpu(r.watch.cpu, 'watch');

  const names = r.micro.map((m: { name: string }) => m.name);
  for (const want of [
    'Store.create (memory)',
    'Store.update (memory)',
    'Store.create (SQLite NORMAL)',
    'label selector match',
  ]) {
    assert.ok(
      names.some((n: string) => n.startsWith(want)),
      `microbenchmark "${want}" is missing from ${names.join(', ')}`,
    );
  }
  for (const m of r.micro) {
    for (const k of ['meanUs', 'p50Us', 'p99Us', 'opsPerSecond', 'samples']) positive(m[k], `${m.name} ${k}`);
  }
});
