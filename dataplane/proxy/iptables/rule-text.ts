/**
 * Small pieces of iptables-restore text shared by the rule builders, written in kube-proxy's
 * argument order (`-m comment --comment ... -m tcp -p tcp -d IP --dport N -j TARGET`) so a
 * payload diffs cleanly against upstream's. The settings every rule builder reads (masquerade
 * mark, how pod traffic is recognised, large-cluster mode) travel together as RuleContext.
 */
import type { IptablesServicePort } from './iptables-model.ts';

export interface RuleContext {
  /** The masquerade mark bit as iptables takes it: '0x4000' for bit 14. */
  readonly masqueradeMark: string;
  /** Masquerade every packet to a ClusterIP, not only those from outside the pod network. */
  readonly masqueradeAll: boolean;
  /** The pod network (upstream's --cluster-cidr); without it pod traffic is not told apart. */
  readonly clusterCIDR?: string;
  /** Above the endpoint threshold: no comments on per-endpoint rules (as upstream). */
  readonly largeCluster: boolean;
}

/** `-m comment --comment X`, quoted when X has a space (as upstream writes it). */
export function comment(text: string): string {
  // Names in comments come from objects; a quote, backslash or line break in one would end the
  // comment (or the line) and turn the rest into rule arguments, so anything but printable ASCII
  // other than those becomes '_'; and the kernel takes at most 255 bytes.
  const safe = text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '_').slice(0, 255);
  return safe.includes(' ') ? `-m comment --comment "${safe}"` : `-m comment --comment ${safe}`;
}

/** `-m tcp -p tcp -d IP --dport N`: the service port's destination. */
export function destination(svc: IptablesServicePort, ip: string, port: number): string {
  return `-m ${svc.proto} -p ${svc.proto} -d ${ip} --dport ${port}`;
}

/** `-m tcp -p tcp --dport N`, for node ports (any local address). */
export function portOnly(svc: IptablesServicePort, port: number): string {
  return `-m ${svc.proto} -p ${svc.proto} --dport ${port}`;
}

/** The filter target for traffic with nowhere to go; REJECT spelled out as the kernel keeps it. */
export function verdictTarget(target: 'REJECT' | 'DROP'): string {
  return target === 'REJECT' ? 'REJECT --reject-with icmp-port-unreachable' : 'DROP';
}

export function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
