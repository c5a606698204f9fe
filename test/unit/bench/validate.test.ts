// The published results schema: the stored fixtures pass, and each kind of defect fails with the
// JSON path of what is wrong (every problem at once, not just the first); readResults says what
// is wrong with a missing file or bad JSON.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readResults, validateResults } from '../../../bench/lib/validate.ts';
import { isKdpError, type KdpError } from '../../../dataplane/errors.ts';
import { FIXTURES, fixture } from './results-fixture.ts';

function problemsOf(doc: unknown): string[] {
  try {
    validateResults(doc);
  } catch (e) {
    assert.ok(isKdpError(e, 'KDP_ERR_BENCH_SCHEMA'), String(e));
    return (e as KdpError).details!.problems as string[];
  }
  return [];
}

test('the stored fixtures are valid results documents', () => {
  for (const name of ['baseline.json', 'current.json'] as const) {
    assert.equal(readResults(join(FIXTURES, name)).suite, 'default');
  }
});

test('each kind of defect fails with its path', () => {
  const cases: Array<[string, (d: any) => void, RegExp]> = [
    [
      'missing top-level field',
      (d) => delete d.environment,
      /^\/: must have required property 'environment'/,
    ],
    ['wrong schema id', (d) => (d.$schema = 'v0'), /^\/\$schema: must be one of/],
    ['bad timestamp', (d) => (d.startedAt = 'yesterday'), /^\/startedAt: must match pattern/],
    [
      'string where a number belongs',
      (d) => (d.environment.cores = '2'),
      /^\/environment\/cores: must be integer/,
    ],
    ['unknown property', (d) => (d.cells[0].colour = 'red'), /^\/cells\/0: unknown property "colour"/],
    [
      'bad direction',
      (d) => (d.cells[1].metrics[2].better = 'faster'),
      /^\/cells\/1\/metrics\/2\/better: must be one of "higher", "lower"/,
    ],
    [
      'non-number trial',
      (d) => (d.cells[0].metrics[0].trials[3] = null),
      /^\/cells\/0\/metrics\/0\/trials\/3: must be number/,
    ],
    [
      'no trials',
      (d) => (d.cells[0].metrics[0].trials = []),
      /^\/cells\/0\/metrics\/0\/trials: must NOT have fewer than 1 items/,
    ],
    [
      'missing axis',
      (d) => delete d.cells[2].axes.path,
      /^\/cells\/2\/axes: must have required property 'path'/,
    ],
    [
      'duplicate cell id',
      (d) => (d.cells[1].id = d.cells[0].id),
      /^\/cells\/1\/id: duplicate cell id .* \(also \/cells\/0\)/,
    ],
    [
      'duplicate metric',
      (d) => (d.cells[1].metrics[1].name = 'latency_p50_us'),
      /^\/cells\/1\/metrics\/1\/name: duplicate metric/,
    ],
    [
      'summary out of step',
      (d) => d.cells[0].metrics[0].trials.pop(),
      /^\/cells\/0\/metrics\/0\/summary\/n: is 10 but the metric has 9 trials/,
    ],
  ];
  for (const [what, spoil, expected] of cases) {
    const doc = fixture('baseline.json');
    spoil(doc);
    const problems = problemsOf(doc);
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${what}: ${JSON.stringify(problems)}`,
    );
  }
});

test('every problem is reported at once, and the message lists them', () => {
  const doc: any = fixture('current.json');
  doc.environment.gitDirty = 'no';
  doc.cells[3].metrics[0].unit = 7;
  try {
    validateResults(doc, 'current.json');
    assert.fail('must throw');
  } catch (e) {
    const message = (e as Error).message;
    assert.match(message, /^current\.json does not match the kdp bench results schema/);
    assert.match(message, /\/environment\/gitDirty: must be boolean/);
    assert.match(message, /\/cells\/3\/metrics\/0\/unit: must be string/);
  }
  assert.deepEqual(problemsOf(fixture('current.json')), []);
});

test('readResults names the file and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-validate-'));
  try {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"suite": ');
    const read = (p: string) => () => readResults(p);
    assert.throws(
      read(join(dir, 'absent.json')),
      (e) => isKdpError(e, 'KDP_ERR_BENCH_READ') && /absent\.json: no such file/.test((e as Error).message),
    );
    assert.throws(
      read(bad),
      (e) => isKdpError(e, 'KDP_ERR_BENCH_READ') && /bad\.json is not valid JSON/.test((e as Error).message),
    );
    assert.throws(
      read(dir),
      (e) => isKdpError(e, 'KDP_ERR_BENCH_READ') && /it is a directory/.test((e as Error).message),
    );
    writeFileSync(bad, '{"suite": "x"}');
    assert.throws(
      read(bad),
      (e) => isKdpError(e, 'KDP_ERR_BENCH_SCHEMA') && /bad\.json does not match/.test((e as Error).message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
