/**
 * Container processes on the host: started detached (their own session and process group, so they
 * outlive the agent and a signal reaches their children too) inside a network namespace through
 * nsenter, isolated as isolation.ts says (own mount and pid namespaces, read-only host, the
 * container's user and capabilities), with stdout and stderr appended to a log file. The tracked
 * process is unshare's, the host-side parent of the container's pid namespace (isolation.ts). A
 * process is identified by its pid and its start time (/proc/<pid>/stat field 22), so a restarted
 * agent recognises the processes it started and never signals a stranger that reused a pid. Readiness comes from the kernel: a
 * port counts as open when /proc/<pid>/net lists a listening TCP or a bound UDP socket on it, the
 * view of the process's own network namespace.
 *
 * The ProcessRunner interface is what the kubelet uses; unit tests give it a fake.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
import { KdpError } from '../../errors.ts';
import type { PortSpec } from './images.ts';
import { type IsolationSpec, isolatedArgv } from './isolation.ts';
import { capabilitiesInMask } from './privileges.ts';

export interface StartOptions {
  /** /run/netns/<name> of the namespace to run in (Netns.path, which guards the name). */
  nsPath: string;
  /** The workload's command line. */
  argv: string[];
  env: Record<string, string>;
  logFile: string;
  /** Who it runs as and what it sees of the host. */
  isolation: IsolationSpec;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartedProcess {
  pid: number;
  pidStart: number;
  /** Resolves when the process exits (known only to the agent that started it). */
  exit: Promise<ProcessExit>;
}

export interface ProcessRunner {
  start(opts: StartOptions): Promise<StartedProcess>;
  alive(pid: number, pidStart: number): Promise<boolean>;
  /** Ports of these protocols open in the process's network namespace. */
  openPorts(pid: number, protocols: readonly PortSpec['protocol'][]): Promise<PortSpec[]>;
  /** Signals the process's group; false when that process no longer runs. */
  signal(pid: number, pidStart: number, sig: NodeJS.Signals): Promise<boolean>;
}

/** State and start time of a pid, or undefined when there is no such process. */
async function procStat(pid: number): Promise<{ state: string; start: number } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], start: Number(fields[19]) };
}

/** The capabilities this process may hand on (its bounding set), read once. */
let bounding: ReturnType<typeof capabilitiesInMask> | undefined;
function ownBoundingSet() {
  bounding ??= capabilitiesInMask(
    /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1],
  );
  return bounding;
}

const TCP_LISTEN = '0A';

/** Local ports in /proc/<pid>/net/<file>; for TCP only listening sockets. */
async function portsIn(pid: number, file: string, protocol: PortSpec['protocol']): Promise<PortSpec[]> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/net/${file}`, 'utf8');
  } catch {
    return [];
  }
  const out: PortSpec[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (protocol === 'TCP' && f[3] !== TCP_LISTEN) continue;
    out.push({ protocol, port: parseInt(f[1].split(':')[1], 16) });
  }
  return out;
}

export class HostProcessRunner implements ProcessRunner {
  async start(opts: StartOptions): Promise<StartedProcess> {
    const { containerDir, privileges } = opts.isolation;
    try {
      // Not recursive: only the directory itself, whose parent the container cannot change.
      await mkdir(containerDir, { recursive: true, mode: 0o700 });
      await chown(containerDir, privileges.uid, privileges.fsGroup ?? privileges.gid);
      await chmod(containerDir, privileges.fsGroup === undefined ? 0o700 : 0o2770);
    } catch (e) {
      throw new KdpError('KDP_ERR_AGENT_SPAWN', `cannot make the container's directory ${containerDir}`, {
        cause: e,
      });
    }
    const argv = isolatedArgv({ held: ownBoundingSet(), ...opts.isolation }, opts.argv);
    const fd = openSync(opts.logFile, 'a', 0o600);
    try {
      const child = spawn('nsenter', [`--net=${opts.nsPath}`, '--', ...argv], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: opts.env,
        cwd: '/',
      });
      const exit = new Promise<ProcessExit>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (e) =>
          reject(new KdpError('KDP_ERR_AGENT_SPAWN', `cannot start ${opts.argv.join(' ')}`, { cause: e })),
        );
      });
      child.unref();
      const pid = child.pid!;
      // A process that ended at once has no start time left; its exit is what the caller sees.
      const stat = await procStat(pid);
      return { pid, pidStart: stat?.start ?? -1, exit };
    } finally {
      closeSync(fd);
    }
  }

  async alive(pid: number, pidStart: number): Promise<boolean> {
    const stat = await procStat(pid);
    return stat !== undefined && stat.start === pidStart && stat.state !== 'Z';
  }

  async openPorts(pid: number, protocols: readonly PortSpec['protocol'][]): Promise<PortSpec[]> {
    const files = protocols.flatMap((p) => (p === 'TCP' ? ['tcp', 'tcp6'] : ['udp', 'udp6']));
    const lists = await Promise.all(files.map((f) => portsIn(pid, f, f.startsWith('tcp') ? 'TCP' : 'UDP')));
    return lists.flat();
  }

  async signal(pid: number, pidStart: number, sig: NodeJS.Signals): Promise<boolean> {
    if (!(await this.alive(pid, pidStart))) return false;
    try {
      process.kill(-pid, sig);
    } catch (e) {
      // Not a group leader (it called setsid or setpgid itself): signal the process alone.
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      try {
        process.kill(pid, sig);
      } catch {
        return false;
      }
    }
    return true;
  }
}
