/**
 * The error codes of the kernel layer and how a kernel's answer maps to them. The real
 * implementation (iproute2) and the fakes raise the same codes for the same mistakes, so callers
 * and tests branch on `code` and never on the wording of a particular tool.
 */
import { KdpError } from '../errors.ts';

export const KERNEL_ERR = {
  /** The object to create is already there (link name in use, address assigned, route present). */
  exists: 'KDP_ERR_KERNEL_EXISTS',
  /** A namespace, link, address or route the operation refers to is not there. */
  notFound: 'KDP_ERR_KERNEL_NOT_FOUND',
  /** A route's next hop is unusable: gateway not on a connected subnet, or its device is down. */
  unreachable: 'KDP_ERR_KERNEL_UNREACHABLE',
  /** A bad argument caught before it reaches the kernel (name too long, malformed CIDR, ...). */
  invalid: 'KDP_ERR_KERNEL_INVALID',
  /** The operation would touch the host's own (root) network namespace or a non-kdp one. */
  hostNamespace: 'KDP_ERR_KERNEL_HOST_NAMESPACE',
  /**
   * A transaction (an iptables-restore table block) was refused as a whole: nothing of the refused
   * table changed. `details.line` and `details.text` say which payload line was blamed.
   */
  rejected: 'KDP_ERR_KERNEL_REJECTED',
  /** The command failed for another reason; the kernel's message is the cause. */
  command: 'KDP_ERR_KERNEL_COMMAND',
} as const;

export type KernelErrorCode = (typeof KERNEL_ERR)[keyof typeof KERNEL_ERR];

/** Where a kernel error happened: the namespace and the operation as a person would type it. */
export interface KernelErrorContext {
  namespace?: string;
  operation: string;
}

export function kernelError(
  code: KernelErrorCode,
  message: string,
  context: KernelErrorContext,
  cause?: unknown,
): KdpError {
  const where = context.namespace ? ` in namespace ${context.namespace}` : '';
  return new KdpError(code, `${context.operation}${where}: ${message}`, {
    cause,
    details: { namespace: context.namespace, operation: context.operation },
  });
}

// Ordered: the first pattern that matches the kernel's (or iproute2's) message decides the code.
const MESSAGE_CODES: [RegExp, KernelErrorCode][] = [
  [/File exists|already assigned|already exists|same name exists/i, KERNEL_ERR.exists],
  [/Nexthop has invalid gateway|is not up|Network is unreachable|No route to host/i, KERNEL_ERR.unreachable],
  [
    /Cannot find device|does not exist|not found|No such (device|process|file)|Invalid "netns" value|Directory nonexistent|Cannot open network namespace/i,
    KERNEL_ERR.notFound,
  ],
  [
    /policy validation|Invalid argument|Invalid prefix|Invalid prefsrc|is wrong|not a valid ifname|Operation not supported|mtu (greater|less)|I\/O error/i,
    KERNEL_ERR.invalid,
  ],
];

/** The code for a kernel message, KDP_ERR_KERNEL_COMMAND when nothing more specific applies. */
export function classifyKernelMessage(message: string): KernelErrorCode {
  for (const [re, code] of MESSAGE_CODES) if (re.test(message)) return code;
  return KERNEL_ERR.command;
}
