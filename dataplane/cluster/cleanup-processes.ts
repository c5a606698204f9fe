/**
 * Finding and killing kdp's processes without any help from them, so it works after a kill -9 of
 * everything. A process is kdp's when (1) its title is `kdp:<cluster>:<role>` (supervisor, agents,
 * built-in pod servers), (2) its network namespace is one of kdp's (compared by the namespace
 * inode of /proc/<pid>/ns/net and /run/netns/<name>): this catches host programs run in pods,
 * which carry no title, or (3) a pid file under the cluster's state directory names it and the
 * process started before the file was written (a reused pid would have started after it).
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NETNS_DIR } from '../kernel/name-checks.ts';

export interface FoundProcess {
  pid: number;
  /** First word of its command line (its title for kdp's own processes). */
  title: string;
  /** Why it counts as kdp's. */
  reason: 'title' | 'netns' | 'pidfile';
  /** The kdp namespace it is in, when that is why. */
  netns?: string;
}

export interface FindOptions {
  /** Title prefix to match: `kdp:<cluster>:`, or `kdp:` for every cluster. */
  titlePrefix: string;
  /** kdp namespace names (under /run/netns) whose processes are kdp's. */
  namespaces: readonly string[];
  /** Directories searched (recursively) for *.pid files. */
  pidDirs: readonly string[];
  /** Never reported: the caller itself, its parents. */
  exclude?: ReadonlySet<number>;
}

const CLOCK_TICKS = 100; // USER_HZ: /proc/<pid>/stat's starttime unit on Linux

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** "net:[4026532345]" -> 4026532345 */
function netnsInode(pid: number): number | undefined {
  try {
    const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function processTitle(pid: number): string | undefined {
  const cmdline = readText(`/proc/${pid}/cmdline`);
  return cmdline === undefined ? undefined : cmdline.split('\0')[0];
}

/** When the process started, ms since the epoch; undefined when it is gone. */
function startTimeMs(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  const btime = /^btime (\d+)$/m.exec(readText('/proc/stat') ?? '');
  if (!stat || !btime) return undefined;
  // Fields after the command (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(btime[1]) * 1000 + (Number(fields[19]) / CLOCK_TICKS) * 1000;
}

/** Whether the process has exited (gone, or a zombie waiting for its parent). */
export function isGone(pid: number): boolean {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return true;
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

function pidFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return pidFiles(p);
    return e.name.endsWith('.pid') ? [p] : [];
  });
}

export function findKdpProcesses(options: FindOptions): FoundProcess[] {
  const byInode = new Map<number, string>();
  for (const name of options.namespaces) {
    try {
      byInode.set(statSync(join(NETNS_DIR, name)).ino, name);
    } catch {
      // deleted meanwhile
    }
  }
  const exclude = options.exclude ?? new Set([process.pid]);
  const found = new Map<number, FoundProcess>();
  for (const pid of pids()) {
    if (exclude.has(pid)) continue;
    const title = processTitle(pid);
    if (title === undefined || title === '') continue; // gone, or a kernel thread
    if (title.startsWith(options.titlePrefix)) {
      found.set(pid, { pid, title, reason: 'title' });
      continue;
    }
    const ino = netnsInode(pid);
    const netns = ino === undefined ? undefined : byInode.get(ino);
    if (netns) found.set(pid, { pid, title, reason: 'netns', netns });
  }
  for (const dir of options.pidDirs) {
    for (const file of pidFiles(dir)) {
      const pid = Number((readText(file) ?? '').trim());
      if (!Number.isInteger(pid) || pid <= 1 || found.has(pid) || exclude.has(pid)) continue;
      const started = startTimeMs(pid);
      let written: number;
      try {
        written = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      // Tick granularity and clock adjustments: allow a little slack.
      if (started !== undefined && started <= written + 2000) {
        found.set(pid, { pid, title: processTitle(pid) ?? '', reason: 'pidfile' });
      }
    }
  }
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}

/** SIGKILLs every process and waits (bounded) until each has exited; returns those still there. */
export async function killAll(processes: readonly FoundProcess[], timeoutMs = 5000): Promise<number[]> {
  for (const p of processes) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  let left = processes.map((p) => p.pid).filter((pid) => !isGone(pid));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    left = left.filter((pid) => !isGone(pid));
  }
  return left;
}
