/**
 * The agent's structured log: one JSON object per line on stderr (time, level, node, message and
 * fields), which the supervisor collects into the node's log file and a person can read with jq.
 * Every part of the agent takes a Log, so tests pass one that records what was said.
 */
import { describeError } from '../errors.ts';

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
