// The processes of a kdp container as the host sees them. The agent tracks unshare's pid (the
// host-side parent of the container's pid namespace); its child is the namespace's pid 1, a shell
// whose child is the workload.
import { readFile } from 'node:fs/promises';

export async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number);
}

/** The workload of the container whose tracked pid is `pid`, once it runs. */
export async function workloadOf(pid: number): Promise<number | undefined> {
  const [init] = await childrenOf(pid);
  if (init === undefined) return undefined;
  const [workload] = await childrenOf(init);
  return workload;
}

/** Fields of /proc/<pid>/status ("Uid" -> "65534 65534 65534 65534"). */
export async function procStatus(pid: number): Promise<Record<string, string>> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
}
