/**
 * Checks on the names the kernel layer passes to the kernel, shared by the real implementation
 * and the fakes: interface names as the kernel accepts them (IFNAMSIZ), namespace names that are
 * safe file names under /run/netns, and the guard that keeps every operation out of the host's
 * own namespace: an operation must name a namespace, and that name must carry the kdp prefix.
 */
import { KERNEL_ERR, kernelError } from './errors.ts';

/** The kernel's IFNAMSIZ is 16 bytes including the terminating NUL. */
export const MAX_IFNAME_LENGTH = 15;
/** Every namespace kdp creates starts with this; a narrower prefix can be configured. */
export const KDP_NAMESPACE_PREFIX = 'kdp-';
/** Where iproute2 (and kdp) keep named network namespaces. */
export const NETNS_DIR = '/run/netns';
/** NAME_MAX for the bind-mount file under /run/netns. */
const MAX_NAMESPACE_NAME_LENGTH = 255;

// Interface names: no '/', ':' or whitespace (the kernel's dev_valid_name), and kept to a
// portable set so they can be used in sysctl keys and iptables rules without quoting.
const IFNAME_RE = /^[A-Za-z0-9_.@-]+$/;
const NAMESPACE_RE = /^[a-z0-9][a-z0-9._-]*$/;

export function validIfName(name: string): string | undefined {
  if (name.length === 0) return 'interface name is empty';
  if (name.length > MAX_IFNAME_LENGTH)
    return `interface name "${name}" is ${name.length} characters; the kernel allows at most ${MAX_IFNAME_LENGTH}`;
  if (name === '.' || name === '..' || !IFNAME_RE.test(name))
    return `interface name "${name}" may only hold letters, digits and _ . @ -`;
  return undefined;
}

export function assertIfName(name: string, operation: string, namespace?: string): void {
  const problem = validIfName(name);
  if (problem) throw kernelError(KERNEL_ERR.invalid, problem, { operation, namespace });
}

/**
 * Refuses a namespace that is missing (which would mean the host's namespace) or that does not
 * carry `prefix`. This is the one check that stands between a bug and the host's network.
 */
export function assertKdpNamespace(
  name: string | undefined,
  prefix: string,
  operation: string,
): asserts name is string {
  if (name === undefined || name === '') {
    throw kernelError(
      KERNEL_ERR.hostNamespace,
      'no namespace given: kdp never operates on the host network namespace',
      { operation },
    );
  }
  if (!name.startsWith(prefix)) {
    throw kernelError(
      KERNEL_ERR.hostNamespace,
      `namespace "${name}" does not start with "${prefix}": kdp only touches namespaces it created`,
      { operation },
    );
  }
  if (name.length > MAX_NAMESPACE_NAME_LENGTH || !NAMESPACE_RE.test(name)) {
    throw kernelError(
      KERNEL_ERR.invalid,
      `namespace name "${name}" must be lowercase letters, digits and . _ - (at most ${MAX_NAMESPACE_NAME_LENGTH})`,
      { operation },
    );
  }
}

/** A narrower prefix must itself be a kdp prefix, or the guard would mean nothing. */
export function assertPrefix(prefix: string): void {
  if (!prefix.startsWith(KDP_NAMESPACE_PREFIX) || !NAMESPACE_RE.test(prefix)) {
    throw kernelError(
      KERNEL_ERR.invalid,
      `namespace prefix "${prefix}" must start with "${KDP_NAMESPACE_PREFIX}"`,
      {
        operation: 'configure kernel',
      },
    );
  }
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}
