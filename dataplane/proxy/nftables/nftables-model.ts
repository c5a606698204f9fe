/**
 * The nftables mode's extension of the shared model: each service port carries the names of its
 * chains and its protocol as nft spells it, each endpoint its chain and affinity set. Computed
 * once per change of an object by the framework's factories, not once per sync.
 */
import type { EndpointInfo, ServicePortInfo } from '../service-model.ts';
import {
  AFFINITY_PREFIX,
  ENDPOINT_PREFIX,
  EXTERNAL_PREFIX,
  LOCAL_PREFIX,
  SERVICE_PREFIX,
  endpointBase,
  servicePortBase,
} from './nft-names.ts';

export interface NftServicePort extends ServicePortInfo {
  /** 'tcp' | 'udp' | 'sctp'. */
  readonly proto: string;
  /** service-…: Cluster-policy endpoints. */
  readonly clusterChain: string;
  /** local-…: Local-policy endpoints. */
  readonly localChain: string;
  /** external-…: node port, external IP and load balancer IP traffic. */
  readonly externalChain: string;
}

export interface NftEndpoint extends EndpointInfo {
  /** endpoint-…. */
  readonly chain: string;
  /** affinity-…: the clients this endpoint has (sessionAffinity ClientIP). */
  readonly affinitySet: string;
}

export function makeNftServicePort(base: ServicePortInfo): NftServicePort {
  const b = servicePortBase(base.namespace, base.serviceName, base.protocol, base.portName);
  return {
    ...base,
    proto: base.protocol.toLowerCase(),
    clusterChain: SERVICE_PREFIX + b,
    localChain: LOCAL_PREFIX + b,
    externalChain: EXTERNAL_PREFIX + b,
  };
}

/** `servicePortKey` is `ns/name[:port]/PROTOCOL`. */
export function makeNftEndpoint(base: EndpointInfo, servicePortKey: string): NftEndpoint {
  const slash = servicePortKey.lastIndexOf('/');
  const id = servicePortKey.slice(0, slash);
  const protocol = servicePortKey.slice(slash + 1);
  const [nsName, portName = ''] = id.split(':');
  const [namespace, name] = nsName.split('/');
  const b = endpointBase(namespace, name, protocol, portName, base.key);
  return { ...base, chain: ENDPOINT_PREFIX + b, affinitySet: AFFINITY_PREFIX + b };
}
