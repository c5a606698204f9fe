/**
 * Who a container's process is and what it may do, from the Pod's securityContext and the
 * container's (the container's fields win, as upstream). kdp's defaults are stricter than a
 * container runtime's, because a kdp container is a program of the host: without a word from the
 * Pod it runs as 65534 (nobody) with no capability in any set and no_new_privs. Root or
 * capabilities come only when asked: runAsUser 0 gets the runtime's default capability set (as
 * containerd gives root), capabilities.add adds (ambient for a non-root user, so they take effect),
 * capabilities.drop removes (ALL from either), privileged gives root, every capability and no
 * no_new_privs. runAsNonRoot refuses to start a container that would run as 0, with upstream's
 * reason CreateContainerConfigError.
 */
import { CAPABILITIES, type Capability, capabilityName } from '../../api/capabilities.ts';
import type { Container, Pod } from '../../api/types.ts';
import { KdpError } from '../../errors.ts';

export const SECURITY_CONTEXT_ERROR = 'KDP_ERR_AGENT_SECURITY_CONTEXT';

/** The user and group of a container that says nothing: nobody/nogroup on Debian. */
export const UNPRIVILEGED_ID = 65534;

/** What containerd gives a root container that asks for nothing more. */
export const RUNTIME_DEFAULT_CAPABILITIES: readonly Capability[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

export interface Privileges {
  uid: number;
  gid: number;
  /** Supplementary groups (supplementalGroups and fsGroup). */
  groups: number[];
  /** Owns the container's directory (setgid, group-writable) when set. */
  fsGroup?: number;
  /** Kept capabilities: bounding, permitted and effective (and ambient for a non-root user). */
  capabilities: Capability[];
  noNewPrivs: boolean;
  privileged: boolean;
  /** The container's own writable directory is mounted read-only too. */
  readOnlyRootFilesystem: boolean;
}

/** Upstream's format.Pod: `name_namespace(uid)`. */
const podRef = (pod: Pod) => `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid ?? ''})`;

function capabilitySet(names: readonly string[] | undefined): Set<Capability | 'ALL'> {
  const out = new Set<Capability | 'ALL'>();
  for (const n of names ?? []) {
    const cap = capabilityName(n);
    if (cap === undefined)
      throw new KdpError(SECURITY_CONTEXT_ERROR, `unknown capability "${n}" in securityContext.capabilities`);
    out.add(cap);
  }
  return out;
}

/** The container's privileges; throws SECURITY_CONTEXT_ERROR when it must not start. */
export function privilegesFor(pod: Pod, c: Container): Privileges {
  const podSc = pod.spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const privileged = sc.privileged === true;
  const uid = sc.runAsUser ?? podSc.runAsUser ?? (privileged ? 0 : UNPRIVILEGED_ID);
  const gid = sc.runAsGroup ?? podSc.runAsGroup ?? (uid === 0 ? 0 : UNPRIVILEGED_ID);
  const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
  if (runAsNonRoot === true && uid === 0) {
    throw new KdpError(
      SECURITY_CONTEXT_ERROR,
      `container's runAsUser breaks non-root policy (pod: "${podRef(pod)}", container: ${c.name})`,
    );
  }
  const fsGroup = podSc.fsGroup;
  const groups = [
    ...new Set([...(podSc.supplementalGroups ?? []), ...(fsGroup !== undefined ? [fsGroup] : [])]),
  ];
  const add = capabilitySet(sc.capabilities?.add);
  const drop = capabilitySet(sc.capabilities?.drop);
  let capabilities: Capability[];
  if (privileged) capabilities = [...CAPABILITIES];
  else {
    const base = drop.has('ALL') ? [] : uid === 0 ? RUNTIME_DEFAULT_CAPABILITIES : [];
    const kept = new Set<Capability>(add.has('ALL') ? CAPABILITIES : base);
    for (const cap of add) if (cap !== 'ALL') kept.add(cap);
    for (const cap of drop) if (cap !== 'ALL') kept.delete(cap);
    capabilities = CAPABILITIES.filter((cap) => kept.has(cap));
  }
  return {
    uid,
    gid,
    groups,
    ...(fsGroup !== undefined ? { fsGroup } : {}),
    capabilities,
    noNewPrivs: !privileged && sc.allowPrivilegeEscalation !== true,
    privileged,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
  };
}

/**
 * setpriv(1) options that turn the root set-up process into the container's user. `held` is what
 * the agent itself may hand on (its bounding set): a capability it lacks cannot be given.
 */
export function setprivArgs(p: Privileges, held: ReadonlySet<Capability> = new Set(CAPABILITIES)): string[] {
  const args = [
    `--reuid=${p.uid}`,
    `--regid=${p.gid}`,
    p.groups.length > 0 ? `--groups=${p.groups.join(',')}` : '--clear-groups',
  ];
  // Privileged root keeps every capability the agent has, as the agent's own child would.
  if (!(p.privileged && p.uid === 0)) {
    const caps = p.capabilities
      .filter((cap) => held.has(cap))
      .map((cap) => `,+${cap.toLowerCase()}`)
      .join('');
    // Root gets its permitted set from the bounding set at exec; any other user from the ambient
    // set, which needs each capability inheritable too.
    args.push(`--inh-caps=-all${p.uid === 0 ? '' : caps}`, `--bounding-set=-all${caps}`);
    if (p.uid !== 0) args.push(`--ambient-caps=-all${caps}`);
  }
  if (p.noNewPrivs) args.push('--no-new-privs');
  return args;
}

/** The capabilities in a /proc/<pid>/status capability mask (CapBnd: a hex bit set). */
export function capabilitiesInMask(hex: string): Set<Capability> {
  const mask = BigInt(`0x${hex}`);
  return new Set(CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n));
}
