/**
 * Container processes on the host: started detached (their own session and process group, so they
 * outlive the agent and a signal reaches their children too) inside a network namespace through
 * nsenter, with stdout and stderr appended to a log file. A process is identified by its pid and
 * its start time (/proc/<pid>/stat field 22), so a restarted agent recognises the processes it
 * started and never signals a stranger that reused a pid. Readiness comes from the kernel: a
 * port counts as open when /proc/<pid>/net lists a listening TCP or a bound UDP socket on it, the
 * view of the process's own network namespace.
 *
 * The ProcessRunner interface is what the kubelet uses; unit tests give it a fake.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { KdpError } from '../../errors.ts';
import type { PortSpec } from './images.ts';

export interface StartOptions {
  /** /run/netns/<name> of the namespace to run in (Netns.path, which guards the name). */
  nsPath: string;
  argv: string[];
  env: Record<string, string>;
  logFile: string;
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
    const fd = openSync(opts.logFile, 'a', 0o600);
    try {
      const child = spawn('nsenter', [`--net=${opts.nsPath}`, '--', ...opts.argv], {
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
