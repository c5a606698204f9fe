/**
 * A throwaway test bed for ebpf-ts's integration tests: two namespaces `<prefix>a` and `<prefix>b`
 * joined by a veth (a:v0 10.99.0.1/24 <-> b:v1 10.99.0.2/24), a cgroup under kdp's subtree, and
 * the checks that nothing is left: this process's bpf fds, the test's cgroups, and BPF programs on
 * the host's root namespace and root cgroup (compared before and after).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PREFIX = `kdp-e${process.pid.toString(36)}-`;
export const NS_A = `${PREFIX}a`;
export const NS_B = `${PREFIX}b`;
export const CLUSTER = `e${process.pid.toString(36)}-test`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestbed(): void {
  removeTestbed();
  ip('netns', 'add', NS_A);
  ip('netns', 'add', NS_B);
  ip('-n', NS_A, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', NS_B);
  ip('-n', NS_A, 'addr', 'add', '10.99.0.1/24', 'dev', 'v0');
  ip('-n', NS_B, 'addr', 'add', '10.99.0.2/24', 'dev', 'v1');
  for (const [ns, dev] of [
    [NS_A, 'v0'],
    [NS_B, 'v1'],
  ]) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
}

export function removeTestbed(): void {
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not there
    }
  }
}

/** Runs argv in a namespace with nsenter (no mount namespace: /sys/fs/cgroup stays visible). */
export async function inNs(ns: string, argv: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('nsenter', [`--net=/run/netns/${ns}`, ...argv], { timeout: 20_000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : 1,
      out: (err.stdout ?? '') + (err.stderr ?? ''),
    };
  }
}

export const ping = (count: number) =>
  inNs(NS_A, ['ping', '-n', '-q', '-c', String(count), '-i', '0.05', '-W', '2', '10.99.0.2']);

/** What `bpftool net show` lists in a namespace (tcx, tc, xdp attachments). */
export async function netAttachments(ns: string): Promise<string> {
  const r = await inNs(ns, ['bpftool', 'net', 'show']);
  return r.out;
}

export async function cgroupAttachments(path: string): Promise<string> {
  const { stdout } = await run('bpftool', ['cgroup', 'show', path]);
  return stdout;
}

/** Whether the kernel has a bpf_link with this id. */
export async function linkExists(id: number): Promise<boolean> {
  try {
    await run('bpftool', ['link', 'show', 'id', String(id)]);
    return true;
  } catch {
    return false;
  }
}

/** This process's fds that are BPF objects (programs, maps, links). */
export function bpfFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (/^anon_inode:bpf/.test(target)) out.push(`${fd} ${target}`);
    } catch {
      // closed while listing (the readdir fd itself)
    }
  }
  return out;
}

/** BPF attachments of the host: its root namespace's devices and the root cgroup. */
export async function hostBpf(): Promise<string> {
  const net = await run('bpftool', ['net', 'show']);
  const cg = await run('bpftool', ['cgroup', 'show', '/sys/fs/cgroup/unified']);
  return `net:\n${net.stdout}\ncgroup:\n${cg.stdout}`;
}
