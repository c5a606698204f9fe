/**
 * What a bench run leaves behind: the results JSON (validated against the published schema before
 * it is written: a document that fails is a bug here, not something to store), the self-contained
 * HTML report next to it, and the Markdown summary (returned for stdout, and written to a file when
 * asked). With a baseline, both reports carry the comparison with the default thresholds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareResults } from '../compare/compare.ts';
import { loadThresholds } from '../compare/thresholds.ts';
import type { BenchResults } from '../lib/results.ts';
import { readResults, validateResults } from '../lib/validate.ts';
import { renderHtml } from '../report/html.ts';
import { renderMarkdown } from '../report/markdown.ts';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface OutputOptions {
  /** JSON path; default bench/results/bench-<suite>-<time>.json. */
  out?: string;
  /** HTML path; default the JSON's path with .html. */
  html?: string;
  /** Also write the Markdown summary here. */
  markdown?: string;
  /** A stored results file to compare against. */
  baseline?: string;
  /** Thresholds file for that comparison (default bench/thresholds.yaml). */
  thresholds?: string;
}

export interface WrittenOutputs {
  jsonPath: string;
  htmlPath: string;
  markdownPath?: string;
  markdown: string;
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A path as a person would type it from the current directory. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

export function defaultResultsPath(results: BenchResults): string {
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  return join(RESULTS_DIR, `bench-${results.suite.replace(/[^a-z0-9-]/gi, '-')}-${stamp}.json`);
}

export function writeOutputs(results: BenchResults, o: OutputOptions = {}): WrittenOutputs {
  const doc = validateResults(results, 'the results of this run');
  const jsonPath = resolve(o.out ?? defaultResultsPath(doc));
  const htmlPath = resolve(o.html ?? jsonPath.replace(/\.json$/i, '') + '.html');
  const baseline = o.baseline === undefined ? undefined : readResults(o.baseline);
  const comparison = baseline ? compareResults(baseline, doc, loadThresholds(o.thresholds)) : undefined;
  write(jsonPath, `${JSON.stringify(doc, null, 2)}\n`);
  write(htmlPath, renderHtml(doc, { baseline, comparison }));
  const markdown = renderMarkdown(doc, { baseline, comparison, htmlPath: shown(htmlPath) });
  const markdownPath = o.markdown === undefined ? undefined : resolve(o.markdown);
  if (markdownPath) write(markdownPath, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return {
    jsonPath: shown(jsonPath),
    htmlPath: shown(htmlPath),
    markdownPath: markdownPath && shown(markdownPath),
    markdown,
  };
}
