/**
 * The contract every proxy mode meets (`satisfies Proxier`), so the agent, wire.ts and the
 * compliance suite drive userspace, iptables, IPVS and later modes the same way; and what a sync
 * hands a mode. Most modes extend BaseProxier (base-proxier.ts) and write only syncRules and
 * cleanupRules.
 */
import type { EndpointSlice, Node, Service } from '../api/types.ts';
import type { ServicePortEndpoint } from './endpoints-tracker.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { EndpointInfo, ServicePortInfo } from './model.ts';
import type { StaleClusterIP } from './service-tracker.ts';

export interface Proxier {
  /** 'iptables', 'ipvs', ... */
  readonly mode: string;
  /** The Node this proxier programs: endpoints on it are local, its addresses take NodePorts. */
  readonly nodeName: string;
  readonly metrics: ProxyMetrics;

  onServiceAdd(svc: Service): void;
  onServiceUpdate(oldSvc: Service, svc: Service): void;
  onServiceDelete(svc: Service): void;
  /** The initial list of Services has been delivered. */
  onServicesSynced(): void;

  onEndpointSliceAdd(slice: EndpointSlice): void;
  onEndpointSliceUpdate(oldSlice: EndpointSlice, slice: EndpointSlice): void;
  onEndpointSliceDelete(slice: EndpointSlice): void;
  /** The initial list of EndpointSlices has been delivered. */
  onEndpointSlicesSynced(): void;

  /** Events of Nodes; only this proxier's own Node matters (its addresses and labels). */
  onNodeAdd(node: Node): void;
  onNodeUpdate(oldNode: Node, node: Node): void;
  onNodeDelete(node: Node): void;

  /** Asks for a sync (paced by the runner); nothing syncs before both initial lists arrived. */
  sync(): void;
  /** Starts the sync loop: the first sync follows once both initial lists arrived, then per the runner. */
  start(): void;
  /** Stops the sync loop for good; resolves when a sync in progress has ended. Idempotent. */
  stop(): Promise<void>;
  /** Stops, then removes everything the mode ever created on this node, in use or not. */
  cleanup(): Promise<void>;
}

/** What the proxier knows of its own Node. */
export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** InternalIP then ExternalIP addresses of the proxier's IP family: where NodePorts listen. */
  readonly addresses: readonly string[];
  readonly podCIDRs: readonly string[];
}

/**
 * What a sync hands the mode: the whole desired state, and what changed since the last success.
 * After a failed sync the lists of removed objects are carried into the retry, so they may name
 * something that has come back since: check them against `services` / `endpoints` before deleting.
 */
export interface SyncState<
  S extends ServicePortInfo = ServicePortInfo,
  E extends EndpointInfo = EndpointInfo,
> {
  /**
   * Rewrite everything (the first sync, after a failure, after this Node changed, and once per
   * full-sync period); otherwise only updatedServices need rewriting.
   */
  full: boolean;
  /** Every proxied service port, by key (`ns/name:port/PROTOCOL`). */
  services: ReadonlyMap<string, S>;
  /** Every service port's endpoints, by the same key, sorted by endpoint key. */
  endpoints: ReadonlyMap<string, readonly E[]>;
  node: NodeInfo;
  /** `ns/name` of Services whose ports or endpoints changed since the last successful sync. */
  updatedServices: ReadonlySet<string>;
  /** Service ports removed since the last successful sync, as they were. */
  deletedServicePorts: readonly S[];
  /** Endpoints removed from their service port since the last successful sync, as they were. */
  deletedEndpoints: readonly ServicePortEndpoint<E>[];
  /** UDP/SCTP ClusterIPs of removed service ports: delete their conntrack entries. */
  staleClusterIPs: readonly StaleClusterIP[];
  /** UDP/SCTP endpoints that stopped serving: delete the conntrack entries DNATed to them. */
  staleEndpoints: readonly ServicePortEndpoint<E>[];
  /** UDP/SCTP service port keys that got their first serving endpoint: flush their ClusterIP entries. */
  staleServices: readonly string[];
  /** Per Service, EndpointSlice last-change-trigger-times (epoch ms) of the changes in this sync. */
  triggerTimes: ReadonlyMap<string, readonly number[]>;
}

/**
 * What a mode may tell the framework after a successful sync, for the common metrics. A mode's
 * own figures go into its own metrics (registered into `metrics.registry`), not here.
 */
export interface SyncReport {
  /** Service ports with a Local policy and no local endpoint (kubeproxy_sync_proxy_rules_no_local_endpoints_total). */
  noLocalEndpoints?: { internal: number; external: number };
}
