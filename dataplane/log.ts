/**
 * The one logger type of kdp: a function taking a level, a message and structured fields. Every
 * component (agent, proxy, overlay, controllers, informers, cluster builder) takes a Log, so tests
 * pass one that records what was said and a process picks where lines go: the agent writes JSON
 * lines on stderr (time, level, node, message and fields), which the supervisor collects into the
 * node's log file and a person can read with jq; the CLI prints warnings as plain lines.
 */
import { describeError } from './errors.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

/** A Log writing JSON lines at `min` and above; `base` fields go on every line. */
export function jsonLog(
  min: LogLevel,
  base: Record<string, unknown>,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Log {
  return (level, message, fields) => {
    if (RANK[level] < RANK[min]) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, ...base, msg: message };
    for (const [k, v] of Object.entries(fields ?? {})) line[k] = v instanceof Error ? describeError(v) : v;
    write(`${JSON.stringify(line)}\n`);
  };
}

/** A Log that drops everything. */
export const silentLog: Log = () => {};

/** A Log printing `<prefix> <level>: message {fields}` lines on stderr, warnings and errors only. */
export function stderrLog(prefix: string): Log {
  return (level, message, fields) => {
    if (RANK[level] < RANK.warn) return;
    const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`${prefix} ${level}: ${message}${extra}\n`);
  };
}
