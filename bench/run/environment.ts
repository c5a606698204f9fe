/**
 * Where a run happened, for the results document: kernel, distribution, CPU, cores, memory, Node
 * and kdp versions, the git commit (and whether the tree had uncommitted changes: a figure from a
 * dirty tree is not the commit's), the versions of the traffic tools as they print them, and the
 * load average at the start (a busy neighbour on a shared machine shows here).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { kdpVersion } from '../../dataplane/version.ts';
import type { BenchEnvironment } from '../lib/results.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** How each tool says its version; the first matching line of its output is kept. */
const TOOL_VERSIONS: Record<string, { argv: string[]; line: RegExp }> = {
  iperf3: { argv: ['iperf3', '--version'], line: /^iperf/ },
  sockperf: { argv: ['sockperf', '--version'], line: /version/ },
  wrk: { argv: ['wrk', '-v'], line: /^wrk/ },
  iptables: { argv: ['iptables', '--version'], line: /^iptables/ },
};

/** stdout+stderr of a command, even when it exits non-zero (wrk -v does); undefined if absent. */
async function output(argv: string[], cwd?: string): Promise<string | undefined> {
  try {
    const r = await run(argv[0], argv.slice(1), { cwd, timeout: 5000 });
    return `${r.stdout}${r.stderr}`;
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') return undefined;
    return `${err.stdout ?? ''}${err.stderr ?? ''}` || undefined;
  }
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function collectEnvironment(): Promise<BenchEnvironment> {
  const tools: Record<string, string> = {};
  await Promise.all(
    Object.entries(TOOL_VERSIONS).map(async ([name, t]) => {
      const text = await output(t.argv);
      // Drop terminal colour codes (sockperf prints them).
      const clean = text?.replace(/\x1b\[[0-9;]*m/g, '');
      const line = clean?.split('\n').find((l) => t.line.test(l));
      // wrk -v appends its copyright to the version.
      tools[name] = line?.replace(/\s+Copyright .*$/, '').trim() ?? 'not installed';
    }),
  );
  const commit = (await output(['git', 'rev-parse', 'HEAD'], REPO))?.trim();
  const status = await output(['git', 'status', '--porcelain', '--untracked-files=no'], REPO);
  const c = cpus();
  return {
    kernel: release(),
    os: osName(),
    cpuModel: c[0]?.model ?? 'unknown',
    cores: Math.max(1, c.length),
    memoryBytes: totalmem(),
    node: process.version,
    kdpVersion: kdpVersion(),
    gitCommit: commit && /^[0-9a-f]{40}$/.test(commit) ? commit : 'unknown',
    gitDirty: (status ?? '').trim().length > 0,
    tools: Object.fromEntries(Object.entries(tools).sort()),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
