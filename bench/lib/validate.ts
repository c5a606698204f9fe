/**
 * Checks a results document against the published schema (bench/schema/results.schema.json) and
 * the rules a schema cannot say (cell ids unique, metric names unique in a cell, a summary that
 * counts the trials it summarises). Every writer validates before writing and every reader after
 * reading, so a report or the regression gate never works from a half-written or hand-edited file
 * without saying so. Errors list every failing path, not just the first.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { KdpError } from '../../dataplane/errors.ts';
import type { BenchResults } from './results.ts';

export const BENCH_SCHEMA_ERROR = 'KDP_ERR_BENCH_SCHEMA';
export const BENCH_READ_ERROR = 'KDP_ERR_BENCH_READ';

export const RESULTS_SCHEMA_PATH = new URL('../schema/results.schema.json', import.meta.url);

let compiled: ReturnType<Ajv2020['compile']> | undefined;

function schemaValidator(): ReturnType<Ajv2020['compile']> {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(RESULTS_SCHEMA_PATH, 'utf8')) as object;
    compiled = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  }
  return compiled;
}

function describeAjvError(e: ErrorObject): string {
  const path = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') {
    return `${path}: unknown property "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  }
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed =
      e.keyword === 'enum'
        ? (e.params as { allowedValues: unknown[] }).allowedValues
        : [(e.params as { allowedValue: unknown }).allowedValue];
    return `${path}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${path}: ${e.message ?? e.keyword}`;
}

/** The rules across fields that JSON Schema cannot express; paths in the same JSON-pointer form. */
function crossFieldProblems(doc: BenchResults): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  doc.cells.forEach((cell, i) => {
    const first = ids.get(cell.id);
    if (first !== undefined)
      problems.push(`/cells/${i}/id: duplicate cell id "${cell.id}" (also /cells/${first})`);
    else ids.set(cell.id, i);
    const names = new Set<string>();
    cell.metrics.forEach((m, j) => {
      const at = `/cells/${i}/metrics/${j}`;
      if (names.has(m.name)) problems.push(`${at}/name: duplicate metric "${m.name}" in cell "${cell.id}"`);
      names.add(m.name);
      if (m.summary.n !== m.trials.length) {
        problems.push(`${at}/summary/n: is ${m.summary.n} but the metric has ${m.trials.length} trials`);
      }
    });
  });
  return problems;
}

/** Returns `doc` typed when it is a valid results document; throws KDP_ERR_BENCH_SCHEMA listing every problem. */
export function validateResults(doc: unknown, source = 'results document'): BenchResults {
  const validate = schemaValidator();
  const problems = validate(doc)
    ? crossFieldProblems(doc as BenchResults)
    : (validate.errors ?? []).map(describeAjvError);
  if (problems.length > 0) {
    throw new KdpError(
      BENCH_SCHEMA_ERROR,
      `${source} does not match the kdp bench results schema (bench/schema/results.schema.json):\n  ` +
        problems.join('\n  '),
      { details: { problems } },
    );
  }
  return doc as BenchResults;
}

/** Reads and validates a results file; missing files and bad JSON say so with the path. */
export function readResults(path: string): BenchResults {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(code);
    throw new KdpError(BENCH_READ_ERROR, `cannot read bench results ${path}: ${why}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new KdpError(BENCH_READ_ERROR, `bench results ${path} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return validateResults(doc, `bench results ${path}`);
}
