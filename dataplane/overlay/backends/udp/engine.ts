/**
 * The contract every encapsulation engine of the udp backend meets, native (C++ addon, batched with
 * offloads, or the flannel-like one-packet-per-poll() baseline) and pure TypeScript alike, so the
 * backend drives any of them and tests run them against each other. An engine owns one TUN device
 * and one UDP socket in the namespace the process runs in (the agent runs inside its node's
 * namespace): packets the kernel routes into the TUN are looked up in the route table (pod subnet
 * -> node underlay address) and sent as the payload of a UDP datagram to that node's port; datagrams
 * from known node addresses are unwrapped and written into the TUN. flannel's wire format: the UDP
 * payload is the bare inner IPv4 packet, no header of its own.
 *
 * Policy stays in TypeScript (which peers exist, which subnets they own); the engine is told the
 * whole table with setRoutes, through a command channel, without stopping its loop.
 */

/** One lease as the engine sees it: a pod subnet and the node that owns it. */
export interface EngineRoute {
  /** IPv4 CIDR, e.g. 10.244.2.0/24. */
  subnet: string;
  /** The owning node's underlay address; datagrams are accepted only from these addresses. */
  nodeIp: string;
}

/** Which packet loop a native engine runs. */
export type NativeEngineMode =
  /** epoll on native threads, recvmmsg/sendmmsg batches, TUN offloads and UDP GSO/GRO. */
  | 'batched'
  /** flannel's proxy loop: poll() and one read or send per packet, on one native thread. */
  | 'baseline';

export interface EngineOptions {
  /** TUN device name (flannel0, as flannel names it, inside the node namespace). Created by the engine. */
  tunName: string;
  /** This node's underlay address: the UDP socket binds it. */
  localIp: string;
  /** UDP port, 8285 as flannel's udp backend. */
  port: number;
  /** MTU of the TUN device: the underlay MTU minus 28 (IPv4 + UDP headers). */
  mtu: number;
  /** This node's own pod subnet (never a route target; packets for it arriving from the TUN are dropped). */
  localSubnet: string;
  /** Native engines only; default 'batched'. */
  mode?: NativeEngineMode;
  /** Native engines only: use IFF_VNET_HDR/TUNSETOFFLOAD and UDP_SEGMENT/UDP_GRO (default true in 'batched'). */
  offload?: boolean;
}

/** Why a packet was dropped; every drop is counted under exactly one reason. */
export const DROP_REASONS = [
  /** No route for the destination: an ICMP net unreachable went back into the TUN. */
  'no-route',
  /** TTL would reach 0: an ICMP time exceeded went back into the TUN. */
  'ttl-expired',
  /** Not a well-formed IPv4 packet (short, bad version or IHL, bad total length). */
  'malformed',
  /** A datagram from an address that is not a known node's. */
  'unknown-peer',
  /** A datagram whose inner destination is not this node's subnet. */
  'not-local',
  /** A send or write the kernel refused (ENOBUFS, EMSGSIZE, ...). */
  'io-error',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface EngineCounters {
  tunRxPackets: number;
  tunRxBytes: number;
  tunTxPackets: number;
  tunTxBytes: number;
  udpRxPackets: number;
  udpRxBytes: number;
  udpTxPackets: number;
  udpTxBytes: number;
  icmpSent: number;
  drops: Record<DropReason, number>;
  /** Histogram of packets per batch read or sent: bucket upper bounds 1, 2, 4, ... 64, then more. */
  batchSizes: Record<string, number>;
}

export interface OverlayEngine {
  /** 'native-batched', 'native-baseline' or 'typescript'. */
  readonly kind: string;
  /** Replaces the whole route table; takes effect for the next packet, loop not stopped. */
  setRoutes(routes: readonly EngineRoute[]): void;
  counters(): EngineCounters;
  /** Stops the loop, joins its threads, closes the TUN (the device goes away) and the socket. Idempotent. */
  close(): Promise<void>;
}
