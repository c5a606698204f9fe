/**
 * The regression gate's verdicts as JUnit XML, the format every CI system shows as a test list:
 * one testcase per (cell, metric), a failure for each regression (with the ratio, its interval,
 * the p-value and the threshold), skipped for inconclusive and missing metrics (so they are seen
 * but do not fail the build), and a passing testcase for the rest.
 */
import type { Comparison, MetricComparison } from '../compare/compare.ts';
import { formatMedianCi, formatP, formatRatioCi } from './format.ts';

/** Text safe in XML attributes and text: the five special characters and no control characters. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
    );
}

function detail(m: MetricComparison): string {
  const parts = [
    m.ratio ? `change ${formatRatioCi(m.ratio)}` : '',
    m.pValue !== undefined ? `p=${formatP(m.pValue)}` : '',
    `threshold ${Math.round(m.threshold * 1000) / 10}%`,
    m.baseline ? `baseline ${formatMedianCi(m.baseline)} ${m.unit}` : '',
    m.current ? `current ${formatMedianCi(m.current)} ${m.unit}` : '',
  ];
  return parts.filter(Boolean).join(', ');
}

function testcase(m: MetricComparison): string {
  const open = `    <testcase classname="${escapeXml(`kdp.bench.${m.cellId}`)}" name="${escapeXml(m.metric)}" time="0"`;
  const message = escapeXml(`${m.verdict}: ${detail(m)}; ${m.reason}`);
  if (m.verdict === 'regressed') {
    return `${open}>\n      <failure type="regression" message="${message}">${message}</failure>\n    </testcase>`;
  }
  if (m.verdict === 'inconclusive' || m.verdict === 'missing') {
    return `${open}>\n      <skipped message="${message}"/>\n    </testcase>`;
  }
  return `${open}>\n      <system-out>${message}</system-out>\n    </testcase>`;
}

export function renderJUnit(comparison: Comparison): string {
  const ms = comparison.metrics;
  const failures = ms.filter((m) => m.verdict === 'regressed').length;
  const skipped = ms.filter((m) => m.verdict === 'inconclusive' || m.verdict === 'missing').length;
  const name = escapeXml(
    `kdp bench compare ${comparison.baseline.gitCommit.slice(0, 10)}..${comparison.current.gitCommit.slice(0, 10)}`,
  );
  const counts = `tests="${ms.length}" failures="${failures}" errors="0" skipped="${skipped}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kdp bench" ${counts}>`,
    `  <testsuite name="${name}" ${counts} timestamp="${escapeXml(comparison.current.startedAt)}">`,
    ...ms.map(testcase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
