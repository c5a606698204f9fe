// `kdp bench compare` and `kdp bench report` as commander subcommands on a `bench` command built
// here (the real one, bench.ts, registers the same functions): exit 1 on a regression with the
// regressed metric printed, 0 when nothing regressed, 2 on bad input; the files they write.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command } from 'commander';
import {
  registerBenchCompare,
  registerBenchReport,
  runCompare,
  runReport,
} from '../../../dataplane/cli/commands/bench-compare.ts';
import { FIXTURES, fixture } from './results-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-compare-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const BASE = join(FIXTURES, 'baseline.json');
const CUR = join(FIXTURES, 'current.json');

function capture() {
  const lines = { out: [] as string[], err: [] as string[] };
  return { lines, io: { out: (t: string) => lines.out.push(t), err: (t: string) => lines.err.push(t) } };
}

test('compare through commander: exit code 1 on a regression, and the files asked for', async () => {
  const bench = new Command('bench').exitOverride();
  registerBenchCompare(bench);
  registerBenchReport(bench);
  const junit = join(dir, 'junit.xml');
  const md = join(dir, 'summary.md');
  const html = join(dir, 'report.html');
  const log = console.log;
  const printed: string[] = [];
  console.log = (t: string) => printed.push(t);
  try {
    await bench.parseAsync(['compare', BASE, CUR, '--junit', junit, '--markdown', md, '--html', html], {
      from: 'user',
    });
    assert.equal(process.exitCode, 1);
  } finally {
    console.log = log;
    process.exitCode = 0;
  }
  const text = printed.join('\n');
  assert.match(
    text,
    /^REGRESSED\s+iptables\/host-gw\/pod-pod-cross-node\/tcp-stream-1\s+throughput_gbps\s+−11%/m,
  );
  assert.match(text, /^IMPROVED\s+userspace\/host-gw\/pod-clusterip\/tcp-stream-1/m);
  assert.match(text, /^INCONCLUSIVE\s+-\/-\/-\/bringup\/nodes=2 .*too few trials/m);
  assert.match(text, /1 regressed, 1 improved, 1 inconclusive, 30 unchanged, 4 missing, 1 new$/);
  assert.match(readFileSync(junit, 'utf8'), /failures="1"/);
  assert.match(readFileSync(md, 'utf8'), /Charts: the HTML report is at `.*report\.html`/);
  assert.match(readFileSync(html, 'utf8'), /<canvas id="chart-1"/);
});

test('compare exits 0 when nothing regressed (a run against itself)', () => {
  const { lines, io } = capture();
  assert.equal(runCompare(CUR, CUR, {}, io), 0);
  assert.match(
    lines.out.join('\n'),
    /^0 regressed, 0 improved, 2 inconclusive, 32 unchanged, 0 missing, 0 new$/m,
  );
});

test('compare exits 2 on bad input, saying what is wrong', () => {
  const broken = join(dir, 'broken.json');
  const doc: any = fixture('current.json');
  delete doc.cells[0].axes.mode;
  writeFileSync(broken, JSON.stringify(doc));
  const badThresholds = join(dir, 'bad.yaml');
  writeFileSync(badThresholds, 'alpha: 2\n');
  const cases: Array<[string, string, string | undefined, RegExp]> = [
    [join(dir, 'absent.json'), CUR, undefined, /absent\.json: no such file/],
    [
      BASE,
      broken,
      undefined,
      /broken\.json does not match .*\/cells\/0\/axes: must have required property 'mode'/s,
    ],
    [BASE, CUR, badThresholds, /bad\.yaml: defaults must be a mapping/],
  ];
  for (const [b, c, thresholds, re] of cases) {
    const { lines, io } = capture();
    assert.equal(runCompare(b, c, { thresholds }, io), 2);
    assert.match(lines.err.join('\n'), re);
  }
});

test('report prints the Markdown and writes the HTML; with a baseline it carries the verdicts', () => {
  const html = join(dir, 'only.html');
  const { lines, io } = capture();
  assert.equal(runReport(CUR, { html }, io), 0);
  assert.match(lines.out.join('\n'), /^## kdp bench: default/);
  assert.ok(existsSync(html));
  const md = join(dir, 'with-baseline.md');
  const second = capture();
  assert.equal(runReport(CUR, { baseline: BASE, markdown: md }, second.io), 0);
  assert.match(readFileSync(md, 'utf8'), /### Verdicts/);
  assert.equal(runReport(join(dir, 'absent.json'), {}, second.io), 2);
});
