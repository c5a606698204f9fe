/**
 * The conntrack facility a proxier needs: deleting the connection-tracking entries that would
 * keep sending traffic to a gone backend (kube-proxy's flushes for stale UDP endpoints and
 * service IPs) and listing entries for tests. The real one is createConntrack (conntrack.ts, the
 * conntrack tool inside the namespace); the fake is FakeConntrack (../testing/fake-conntrack.ts).
 * Every delete returns how many entries it removed; none is not an error.
 */

export type ConntrackProtocol = 'tcp' | 'udp' | 'sctp';

export interface ConntrackTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface ConntrackEntry {
  /** tcp, udp, sctp, icmp, ... */
  protocol: string;
  /** Seconds until the entry expires. */
  timeout: number;
  /** The protocol state where there is one: ESTABLISHED, TIME_WAIT, ... */
  state?: string;
  original: ConntrackTuple;
  reply: ConntrackTuple;
  /** UNREPLIED, ASSURED, ... */
  flags: string[];
  mark: number;
}

/** Entries to match; every field given must match. */
export interface ConntrackFilter {
  protocol?: ConntrackProtocol;
  origSrc?: string;
  origDst?: string;
  /** Destination port of the original direction; needs `protocol`. */
  origDstPort?: number;
  /** Entries whose destination was NATed to this address (conntrack --dst-nat). */
  dstNat?: string;
}

export interface Conntrack {
  readonly prefix: string;
  /** Deletes the entries matching `filter` (at least one field). */
  delete(ns: string, filter: ConntrackFilter): Promise<number>;
  /** Connections to a service IP (kube-proxy: a UDP service that lost its endpoints or went away). */
  deleteByDestination(ns: string, ip: string, protocol?: ConntrackProtocol): Promise<number>;
  /** Connections to a port on any address (kube-proxy: a UDP NodePort that lost its endpoints). */
  deleteByPort(ns: string, port: number, protocol: ConntrackProtocol): Promise<number>;
  /** Connections to `serviceIp` that were DNATed to `endpointIp` (kube-proxy: a removed UDP endpoint). */
  deleteByNat(
    ns: string,
    serviceIp: string,
    endpointIp: string,
    protocol: ConntrackProtocol,
  ): Promise<number>;
  /** Connections to `port` DNATed to `endpointIp` (kube-proxy: a removed endpoint behind a NodePort). */
  deleteByPortNat(ns: string, port: number, endpointIp: string, protocol: ConntrackProtocol): Promise<number>;
  list(ns: string, filter?: ConntrackFilter): Promise<ConntrackEntry[]>;
}
