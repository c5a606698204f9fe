/**
 * The regression gate's thresholds, from a YAML file (bench/thresholds.yaml is the default and
 * documents every key): the significance level, a default threshold per metric direction, and
 * overrides by metric-name glob and by cell-id glob. Kept in a file, not flags, so a team reviews
 * changes to its gate like code. A bad file fails loudly with the key at fault: a typo must not
 * silently fall back to a default.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { YAMLParseError, parse } from 'yaml';
import { KdpError } from '../../dataplane/errors.ts';

export const THRESHOLDS_ERROR = 'KDP_ERR_BENCH_THRESHOLDS';
export const DEFAULT_THRESHOLDS_PATH = fileURLToPath(new URL('../thresholds.yaml', import.meta.url));

export interface ThresholdRule {
  /** Cell id glob (cells rules only). */
  cell?: string;
  /** Metric name glob; absent in a cell rule means every metric. */
  metric?: string;
  /** Smallest relative change of the median that counts, e.g. 0.05 for 5%. */
  threshold: number;
}

export interface Thresholds {
  alpha: number;
  defaults: { higher: number; lower: number };
  metrics: ThresholdRule[];
  cells: ThresholdRule[];
}

/** Glob with * (any run of characters, / included) and ? (one character), anchored at both ends. */
export function globMatch(glob: string, text: string): boolean {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(text);
}

/** The threshold for one metric of one cell: first matching cell rule, else metric rule, else default. */
export function thresholdFor(
  t: Thresholds,
  cellId: string,
  metricName: string,
  better: 'higher' | 'lower',
): number {
  const cellRule = t.cells.find((r) => globMatch(r.cell!, cellId) && globMatch(r.metric ?? '*', metricName));
  if (cellRule) return cellRule.threshold;
  const metricRule = t.metrics.find((r) => globMatch(r.metric!, metricName));
  return metricRule ? metricRule.threshold : t.defaults[better];
}

function fail(source: string, message: string, cause?: unknown): never {
  throw new KdpError(THRESHOLDS_ERROR, `thresholds ${source}: ${message}`, { cause });
}

function fraction(source: string, at: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= max) {
    fail(
      source,
      `${at} must be a number between 0 and ${max} (exclusive), e.g. 0.05 for 5%; got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function onlyKeys(source: string, at: string, obj: Record<string, unknown>, allowed: string[]): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length)
    fail(source, `${at} has unknown key(s) ${extra.join(', ')}; allowed: ${allowed.join(', ')}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rules(source: string, key: 'metrics' | 'cells', v: unknown): ThresholdRule[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(source, `${key} must be a list of rules`);
  return v.map((r: unknown, i) => {
    const at = `${key}[${i}]`;
    if (!isObject(r)) fail(source, `${at} must be a mapping`);
    onlyKeys(source, at, r, key === 'cells' ? ['cell', 'metric', 'threshold'] : ['metric', 'threshold']);
    const globKey = key === 'cells' ? 'cell' : 'metric';
    for (const k of ['cell', 'metric']) {
      if (r[k] !== undefined && (typeof r[k] !== 'string' || r[k] === ''))
        fail(source, `${at}.${k} must be a glob`);
    }
    if (r[globKey] === undefined) fail(source, `${at} needs "${globKey}" (a glob)`);
    return {
      ...(r as object),
      threshold: fraction(source, `${at}.threshold`, r.threshold, 10),
    } as ThresholdRule;
  });
}

/** Checks a parsed thresholds document; `source` names it in errors. */
export function parseThresholds(doc: unknown, source = 'document'): Thresholds {
  if (!isObject(doc)) fail(source, 'must be a mapping with alpha, defaults, metrics, cells');
  onlyKeys(source, 'the top level', doc, ['alpha', 'defaults', 'metrics', 'cells']);
  const d = doc.defaults;
  if (!isObject(d)) fail(source, 'defaults must be a mapping with higher and lower');
  onlyKeys(source, 'defaults', d, ['higher', 'lower']);
  return {
    alpha: doc.alpha === undefined ? 0.05 : fraction(source, 'alpha', doc.alpha, 0.5),
    defaults: {
      higher: fraction(source, 'defaults.higher', d.higher, 10),
      lower: fraction(source, 'defaults.lower', d.lower, 10),
    },
    metrics: rules(source, 'metrics', doc.metrics),
    cells: rules(source, 'cells', doc.cells),
  };
}

/** Loads thresholds from `path` (default bench/thresholds.yaml). */
export function loadThresholds(path: string = DEFAULT_THRESHOLDS_PATH): Thresholds {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(path, code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`, e);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` at line ${e.linePos[0].line}` : '';
    fail(path, `is not valid YAML${where}: ${(e as Error).message.split('\n')[0]}`, e);
  }
  return parseThresholds(doc, path);
}
