/**
 * The overlay: how pod traffic between nodes gets from one node's pod subnet to another's. Each
 * backend (host-gw, vxlan, udp, udp-ts) sits behind one small interface, chosen by name
 * from the registry (backends/registry.ts), as flannel's backends are. A backend is driven by the node agent with
 * the node's own lease (its pod CIDR and underlay address) and, whenever Nodes change, the whole
 * set of peers; it converges the kernel to that set. Programmed state outlives the backend: an
 * agent that restarts must not interrupt traffic, so close() leaves routes and devices in place.
 */
import type { Kernel } from '../kernel/interfaces.ts';

/**
 * The Node annotation where each node's agent publishes its uplink's MAC, as flanneld publishes
 * its VTEP's in flannel.alpha.coreos.com/backend-data: peers then need no ARP to reach it.
 */
export const UNDERLAY_MAC_ANNOTATION = 'kdp.dev/underlay-mac';

/** A node as the overlay sees it: flannel's subnet lease. */
export interface OverlayNode {
  /** The Kubernetes Node name. */
  name: string;
  /** The node's pod subnet (Node spec.podCIDR). */
  podCidr: string;
  /** The node's address on the underlay (Node status.addresses InternalIP). */
  underlayIp: string;
  /** Its uplink's MAC (UNDERLAY_MAC_ANNOTATION), once its agent has published it. */
  underlayMac?: string;
  /** The backend its agent runs (flannel.alpha.coreos.com/backend-type), once published. */
  backendType?: string;
  /** That backend's data (flannel.alpha.coreos.com/backend-data, parsed JSON), e.g. vxlan's VtepMAC. */
  backendData?: unknown;
}

export interface OverlayLog {
  (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

/** What a backend is given to work with on one node. */
export interface OverlayContext {
  kernel: Kernel;
  /** The node's network namespace, where every change is made. */
  netns: string;
  /** The node's uplink to the underlay inside `netns` (eth0). */
  uplink: string;
  /** The cluster's pod network (flannel's Network), e.g. 10.244.0.0/16. */
  clusterCidr: string;
  /** Backend options from the cluster's configuration, e.g. { engine: 'baseline' } for udp. */
  options?: Readonly<Record<string, string>>;
  log: OverlayLog;
}

/** What a started backend tells the agent to publish in its lease and to give its pods. */
export interface OverlayStarted {
  /** Published as flannel.alpha.coreos.com/backend-data (JSON); null when the backend has none. */
  backendData: unknown;
  /** The MTU pods must use: the uplink's MTU minus the encapsulation overhead (FLANNEL_MTU). */
  podMtu: number;
}

export interface OverlayBackend {
  readonly name: string;
  /** Prepares the node for this backend (reads what exists, creates devices). Called once, first. */
  start(local: OverlayNode, signal?: AbortSignal): Promise<OverlayStarted>;
  /**
   * Converges to exactly these peers (other nodes; the local node is never among them): adds what
   * is missing, changes what moved, removes what is no longer there. Idempotent; calls never overlap.
   */
  sync(peers: readonly OverlayNode[], signal?: AbortSignal): Promise<void>;
  /**
   * Stops background work. Kernel state (routes, devices, entries) stays in place (see the header);
   * a userspace engine's TUN device goes away with its process, as flannel's does. Idempotent.
   */
  close(): Promise<void>;
  /** Counters of a userspace engine (packets, bytes, drops by reason), for metrics; absent otherwise. */
  counters?(): Record<string, number>;
}

/** How a backend is made; backends/registry.ts lists them by name. */
export type OverlayBackendFactory = (ctx: OverlayContext) => OverlayBackend;
