/**
 * Lane scripts: how a stage of a plan runs as a few `sh` processes instead of one Node-spawned
 * process per namespace. Spawning from Node costs ~5 ms of the main thread per child, and
 * `ip -n` unshares a mount namespace that copies every /run/netns mount (slow with a thousand
 * namespaces). A lane is a shell script that, for each of its groups, enters the namespace with
 * `nsenter --net` (network namespace only) and feeds the group's lines to `ip -batch -`, or writes
 * its sysctls; markers on stderr tell which group and which run failed, with the tools' messages.
 * Names reaching the script passed the namespace guard (letters, digits, . _ -); every value is
 * single-quoted; batch lines travel in quoted here-documents, never interpreted by the shell.
 */
import { ipArgs } from './commands.ts';
import { netnsPath } from '../name-checks.ts';
import type { NetOp } from '../types.ts';

/** Writes "$2" to file "$1" for each pair, naming the file that failed on stderr. */
export const WRITE_PAIRS =
  'while [ $# -gt 1 ]; do printf "%s\\n" "$2" > "$1" || { echo "kdp-sysctl-failed: $1" >&2; exit 1; }; shift 2; done';

export interface LaneGroup {
  /** Index of the group within its stage, echoed back in failure markers. */
  id: number;
  ns: string;
  /** Runs of the group in order (see toolRuns): each one process inside the namespace. */
  runs: NetOp[][];
  /** /proc/sys path of each sysctl op of the group (already checked). */
  sysctlPaths: Map<NetOp, string>;
}

export interface LaneFailure {
  group: number;
  run: number;
  /** What the failing run printed on stderr. */
  stderr: string;
}

export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function runLines(group: LaneGroup, run: NetOp[], index: number): string[] {
  const enter = `nsenter --net=${shellQuote(netnsPath(group.ns))}`;
  const lines = [`  echo 'kdp-run ${index}' >&2`];
  if (run[0].kind === 'sysctl.set') {
    const args = run.flatMap((op) =>
      op.kind === 'sysctl.set' ? [group.sysctlPaths.get(op)!, op.value] : [],
    );
    lines.push(`  ${enter} sh -c "$KDP_WRITE_PAIRS" sh ${args.map(shellQuote).join(' ')} || return 1`);
  } else {
    lines.push(`  ${enter} ip -batch - <<'KDP_EOF' || return 1`);
    for (const op of run) lines.push((ipArgs(op) ?? []).join(' '));
    lines.push('KDP_EOF');
  }
  return lines;
}

/** A POSIX sh script carrying out `groups` one after another; a failed group does not stop the rest. */
export function laneScript(groups: readonly LaneGroup[]): string {
  const lines = [`KDP_WRITE_PAIRS=${shellQuote(WRITE_PAIRS)}`];
  for (const group of groups) {
    lines.push('kdp_group() {');
    group.runs.forEach((run, i) => lines.push(...runLines(group, run, i)));
    lines.push('}');
    lines.push(`echo 'kdp-group ${group.id}' >&2`);
    lines.push(`kdp_group || echo 'kdp-failed ${group.id}' >&2`);
  }
  lines.push('exit 0', '');
  return lines.join('\n');
}

/** The failed groups of a lane, from the markers on its stderr. */
export function laneFailures(stderr: string): LaneFailure[] {
  const failures: LaneFailure[] = [];
  let run = 0;
  let buffer: string[] = [];
  for (const line of stderr.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^kdp-group (\d+)$/.exec(line))) {
      run = 0;
      buffer = [];
    } else if ((m = /^kdp-run (\d+)$/.exec(line))) {
      run = Number(m[1]);
      buffer = [];
    } else if ((m = /^kdp-failed (\d+)$/.exec(line))) {
      failures.push({ group: Number(m[1]), run, stderr: buffer.join('\n') });
    } else if (line !== '') {
      buffer.push(line);
    }
  }
  return failures;
}

/** The /proc/sys file a sysctl writer failed on, and the message without the shell's decoration. */
export function sysctlFailure(stderr: string): { path?: string; message: string } {
  const failed = /kdp-sysctl-failed: (\S+)/.exec(stderr);
  const message = stderr
    .split('\n')
    .filter((l) => l && !l.startsWith('kdp-sysctl-failed'))
    .map((l) => l.replace(/^sh: \d+: /, ''))
    .join('; ');
  return { path: failed?.[1], message };
}
