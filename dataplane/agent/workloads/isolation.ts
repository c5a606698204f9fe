/**
 * How a container process is isolated from the host, as one command line: the agent starts it
 * inside the pod's network namespace (processes.ts adds nsenter), and
 *
 *   unshare --mount --pid --fork --kill-child --mount-proc      own mount and pid namespaces
 *     /bin/sh -c <isolation-setup.sh> ...                       as root: read-only host, own
 *                                                               /dev and /tmp, kdp's state covered,
 *                                                               the pod's /etc/resolv.conf
 *       setpriv --reuid --regid --groups --*-caps --no-new-privs   the container's user
 *         /bin/sh -c '"$@" & wait "$!"' kdp-init COMMAND...    pid 1 of the namespace
 *           COMMAND                                             the workload
 *
 * The pid the agent tracks is unshare's (the host-side parent): it stays in the pod's network
 * namespace (so /proc/<pid>/net is the pod's), blocks SIGTERM and SIGINT, waits for the
 * namespace's pid 1 and exits with its status, and its death kills the whole namespace
 * (--kill-child). Every process keeps the process group the agent created, so the group's SIGTERM
 * reaches the workload itself; pid 1 is a shell that ignores it (a namespace's init without a
 * handler does), reaps orphans, and exits with the workload's status when it ends.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Capability } from '../../api/capabilities.ts';
import { type Privileges, setprivArgs } from './privileges.ts';

// Without its comments: the script is part of every container's command line (ps shows it).
const SETUP_SCRIPT = readFileSync(new URL('./isolation-setup.sh', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => !/^\s*(#.*)?$/.test(line))
  .join('\n');

/** Pid 1 of the container: runs the workload and ends with it. */
export const INIT_SCRIPT = '"$@" & wait "$!"';

export interface IsolationSpec {
  privileges: Privileges;
  /** The container's own directory (writable unless readOnlyRootFilesystem). */
  containerDir: string;
  /** Shown read-only: the built-in servers' bundle. */
  workloadsDir?: string;
  /** A file shown read-only at /etc/resolv.conf (the pod's, resolv-conf.ts); the host's if absent. */
  resolvConf?: string;
  /** Covered by an empty file system: kdp's state, the namespace files. */
  hidden: readonly string[];
  /** Capabilities the agent can hand on (privileges.ts). */
  held?: ReadonlySet<Capability>;
}

/** The paths to cover, without those inside another (covering the outer covers them). */
export function outermost(paths: readonly string[]): string[] {
  const abs = [...new Set(paths.map((p) => resolve(p)))].sort();
  return abs.filter((p) => !abs.some((q) => q !== p && (p.startsWith(`${q}/`) || q === '/')));
}

/** The command line that runs `argv` as the container. */
export function isolatedArgv(spec: IsolationSpec, argv: readonly string[]): string[] {
  const p = spec.privileges;
  const hidden = outermost(spec.hidden);
  return [
    'unshare',
    '--mount',
    '--pid',
    '--fork',
    '--kill-child',
    '--mount-proc',
    '--',
    '/bin/sh',
    '-c',
    SETUP_SCRIPT,
    'kdp-container-setup',
    p.privileged ? 'privileged' : 'isolated',
    spec.containerDir,
    p.readOnlyRootFilesystem ? 'ro' : 'rw',
    spec.workloadsDir ?? '',
    spec.resolvConf ?? '',
    String(hidden.length),
    ...hidden,
    '--',
    'setpriv',
    ...setprivArgs(p, spec.held),
    '--',
    '/bin/sh',
    '-c',
    INIT_SCRIPT,
    'kdp-init',
    ...argv,
  ];
}
