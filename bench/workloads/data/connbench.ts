/**
 * The new-connection workloads' tool, kdp-connbench (bench/connbench/connbench.c, built by
 * scripts/setup.sh into build/): where the binary is, the argv of a client run, and the parser of
 * the one JSON object it prints per run. The parser checks every field it uses, so a truncated or
 * foreign line fails with KDP_ERR_BENCH_PARSE instead of a NaN in a median.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../../../dataplane/errors.ts';
import { BENCH_PARSE_ERROR } from './parsers.ts';

/** build/kdp-connbench at the project root. */
export const CONNBENCH_BINARY = fileURLToPath(new URL('../../../build/kdp-connbench', import.meta.url));
/** The port its server pods listen on, TCP and UDP. */
export const CONNBENCH_PORT = 7070;

export type ConnbenchWorkload = 'tcp-crr' | 'udp-new-flow';

export interface ConnbenchRun {
  workload: ConnbenchWorkload;
  seconds: number;
  /** 0: closed loop. */
  offeredRate: number;
  attempts: number;
  completed: number;
  failures: number;
  /** Fixed-rate runs: attempts that started more than 1 ms after their slot. */
  late: number;
  /** Completed connections (or flows) per second. */
  rate: number;
  /** tcp-crr only (0 for udp-new-flow): connect() to its return. */
  connectP50Us: number;
  connectP99Us: number;
  /** A whole transaction: connect, request, answer, close (udp: send to answer). */
  txnP50Us: number;
  txnP99Us: number;
}

/** Why the binary cannot run here, or undefined. */
export function connbenchMissing(binary = CONNBENCH_BINARY): string | undefined {
  return existsSync(binary)
    ? undefined
    : `${binary} is not built: run scripts/setup.sh (it compiles bench/connbench/connbench.c)`;
}

export function connbenchArgv(
  workload: ConnbenchWorkload,
  host: string,
  port: number,
  o: { seconds: number; rate?: number; binary?: string },
): string[] {
  const argv = [o.binary ?? CONNBENCH_BINARY, workload, '--host', host, '--port', String(port)];
  argv.push('--seconds', String(o.seconds), '--rate', String(o.rate ?? 0));
  return argv;
}

const FIELDS = {
  seconds: 'seconds',
  offeredRate: 'offered_rate',
  attempts: 'attempts',
  completed: 'completed',
  failures: 'failures',
  late: 'late',
  rate: 'rate',
  connectP50Us: 'connect_p50_us',
  connectP99Us: 'connect_p99_us',
  txnP50Us: 'txn_p50_us',
  txnP99Us: 'txn_p99_us',
} as const;

/** The last JSON line kdp-connbench printed, checked field by field. */
export function parseConnbench(text: string): ConnbenchRun {
  const fail = (what: string) =>
    new KdpError(
      BENCH_PARSE_ERROR,
      `kdp-connbench: ${what} in its output: ${text.trim().slice(0, 300) || '(empty)'}`,
    );
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (line === undefined) throw fail('cannot find a JSON line');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw fail('cannot parse the JSON line');
  }
  if (doc.tool !== 'kdp-connbench') throw fail('"tool" is not kdp-connbench');
  if (doc.workload !== 'tcp-crr' && doc.workload !== 'udp-new-flow') throw fail('unknown "workload"');
  const out = { workload: doc.workload } as ConnbenchRun;
  for (const [key, field] of Object.entries(FIELDS)) {
    const v = doc[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fail(`"${field}" is not a number >= 0`);
    (out as unknown as Record<string, number>)[key] = v;
  }
  if (out.completed + out.failures !== out.attempts) throw fail('"completed" + "failures" is not "attempts"');
  return out;
}
