/**
 * The compliance suite's contract. A case is data: the Services and EndpointSlices a cluster
 * holds, and flows (who connects where) with where each may end up. A proxy mode takes part
 * through a harness: it builds its proxier on some data plane (a fake kernel with a packet
 * tracer in unit tests; real namespaces later), lets the proxier sync, and answers "where can
 * this new connection go?". Nothing here knows iptables or IPVS, so every mode runs the same
 * cases and is held to the same behaviour: kube-proxy's.
 */
import type { EndpointSlice, Service } from '../../api/types.ts';
import type { Proxier } from '../proxier-contract.ts';

/**
 * Where a connection starts: a pod on the proxier's node, a client outside the cluster whose
 * packets arrive on the node's uplink, or the node itself.
 */
export type FlowSource = 'pod' | 'external' | 'node';

export interface Flow {
  from: FlowSource;
  /** Source IP; defaults per `from` (topology.ts: a pod of this node, the external client, the node IP). */
  source?: string;
  /** Destination IP and port, as the client addresses them. */
  to: string;
  port: number;
  /** Default TCP. */
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/**
 * Where a new connection may end up: endpoints ('ip:port', any of which the proxy may pick),
 * or dropped, refused, or delivered as addressed (the proxy did not touch it).
 */
export type Destination = readonly string[] | 'DROP' | 'REJECT' | 'DELIVERED';

export interface FlowCase extends Flow {
  /** What the flow shows, for failure messages. */
  name: string;
  expect: Destination;
  /**
   * true: every endpoint is reached with the client's source masqueraded; false: none is; a list:
   * exactly those endpoints (hairpin). Unchecked when absent.
   */
  masquerade?: boolean | readonly string[];
  /** Each endpoint equally likely; default true when `expect` lists several. */
  even?: boolean;
  /** A returning client (ClientIP affinity) is sent back to the endpoint it had, whichever it was. */
  sticky?: boolean;
  /**
   * A ClusterIP on a port or protocol that no service port has. Modes differ here as upstream's
   * do: iptables leaves it alone (`expect`), nftables rejects it (its cluster-ips-check chain).
   */
  unservedClusterIPPort?: true;
}

/** Settings every mode has under kube-proxy's names. */
export interface ComplianceEnv {
  /** The Node the proxier programs (topology.ts THIS_NODE). */
  nodeName: string;
  /** --cluster-cidr; undefined: pod traffic is not told apart. */
  clusterCIDR?: string;
  /** --masquerade-all. */
  masqueradeAll: boolean;
}

export interface ComplianceCase {
  name: string;
  /** What the case is about, one line. */
  feature: string;
  /** Capabilities the data plane must have (a harness without them skips the case). */
  requires?: readonly 'sctp'[];
  /** Overrides of the default env (clusterCIDR 10.244.0.0/16, no masqueradeAll); null clears clusterCIDR. */
  env?: { clusterCIDR?: string | null; masqueradeAll?: boolean };
  services: readonly Service[];
  slices: readonly EndpointSlice[];
  flows: readonly FlowCase[];
}

/** What a harness says about one new connection. */
export interface FlowResult {
  /** Sorted and unique: 'ip:port' per endpoint, 'DROP', 'REJECT', 'DELIVERED'. */
  outcomes: string[];
  /** The endpoints reached with the source masqueraded (or SNATed), sorted. */
  masqueraded: string[];
  /** Probability of each outcome (they sum to 1). */
  shares: Record<string, number>;
}

/** One proxier on one data plane, for one case. */
export interface ModeHarness {
  readonly proxier: Proxier;
  /** Lets every pending change reach the data plane; throws if a sync failed. */
  settle(): Promise<void>;
  /** `returning`: the client connected before and was sent to this endpoint ('ip:port'). */
  trace(
    flow: Required<Omit<Flow, 'source'>> & { source: string },
    opts?: { returning?: string },
  ): Promise<FlowResult>;
  close(): Promise<void>;
}

export interface ModeUnderTest {
  /** 'iptables (fake kernel)', ... */
  name: string;
  capabilities: {
    sctp: boolean;
    /** Traffic to a ClusterIP on a port no service port has is rejected (FlowCase.unservedClusterIPPort). */
    rejectsUnservedClusterIPPorts?: boolean;
  };
  create(env: ComplianceEnv): Promise<ModeHarness>;
}
