/**
 * Linux capability names as a Pod's securityContext.capabilities spells them: upstream takes
 * `NET_ADMIN` or `CAP_NET_ADMIN` (the runtime adds the prefix) and `ALL`. Shared by the API's
 * validation and the agent, which hands them to setpriv(1) in its lower-case, unprefixed form.
 */
/** In the kernel's numbering: the index is the capability's bit in a /proc/<pid>/status mask. */
export const CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

const KNOWN = new Set<string>(CAPABILITIES);

/** `NET_ADMIN`, `CAP_NET_ADMIN` -> `NET_ADMIN`; `ALL` -> `ALL`; undefined for anything else. */
export function capabilityName(name: string): Capability | 'ALL' | undefined {
  if (name === 'ALL') return 'ALL';
  const bare = name.startsWith('CAP_') ? name.slice(4) : name;
  return KNOWN.has(bare) ? (bare as Capability) : undefined;
}
