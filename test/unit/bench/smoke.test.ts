/**
 * The smoke suite in `npm test`: the parts of `kdp bench --suite smoke` that need no root (control
 * workloads with fakes, microbenchmarks) run through the same runner and writers as the command,
 * so the harness cannot rot unnoticed: a valid results JSON, the HTML report and the Markdown
 * summary. The root-only cells stay in the results as skipped, with the reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readResults } from '../../../bench/lib/validate.ts';
import { buildCatalog } from '../../../bench/run/catalog.ts';
import { writeOutputs } from '../../../bench/run/output.ts';
import { NEEDS_ROOT } from '../../../bench/run/matrix-plan.ts';
import { runMatrix } from '../../../bench/run/matrix-runner.ts';
import { resolveSpec } from '../../../bench/run/spec.ts';
import { CONTROL_WORKLOADS } from '../../../bench/workloads/control/index.ts';

test('the smoke suite without root: valid JSON, HTML and Markdown through the runner', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-smoke-'));
  try {
    const spec = resolveSpec({ suite: 'smoke' }, buildCatalog(CONTROL_WORKLOADS));
    const results = await runMatrix(spec, { controlWorkloads: CONTROL_WORKLOADS, root: false });
    const out = join(dir, 'smoke.json');
    const written = writeOutputs(results, { out, markdown: join(dir, 'smoke.md') });

    const doc = readResults(out);
    assert.equal(doc.suite, 'smoke');
    const data = doc.cells.filter((c) => c.axes.path !== '-');
    assert.ok(data.length > 0, 'the smoke suite has data-plane cells');
    for (const c of data) assert.equal(c.skipped, NEEDS_ROOT, c.id);
    const ran = doc.cells.filter((c) => !c.skipped);
    assert.ok(ran.length > 0, 'some control or micro workload needs no root and ran');
    for (const c of ran) {
      assert.deepEqual(c.errors ?? [], [], `${c.id} ran without errors`);
      assert.ok(c.metrics.length > 0, `${c.id} measured something`);
      for (const m of c.metrics)
        assert.equal(m.trials.length, spec.trials, `${c.id} ${m.name}: one value per trial`);
    }

    const html = readFileSync(join(dir, 'smoke.html'), 'utf8');
    assert.match(html, /^<!doctype html>/i);
    assert.ok(html.includes(ran[0].axes.workload), 'the HTML report shows a measured workload');
    const markdown = readFileSync(join(dir, 'smoke.md'), 'utf8');
    assert.equal(markdown.trimEnd(), written.markdown.trimEnd());
    assert.ok(markdown.includes(ran[0].axes.workload), 'the summary shows a measured workload');
    assert.ok(markdown.includes('smoke.html'), 'the summary points at the HTML report');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
