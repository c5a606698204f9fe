/**
 * The iptables mode's extension of the shared model: each service port carries the names of its
 * chains and its protocol as iptables spells it, each endpoint the name of its KUBE-SEP chain.
 * The framework calls these factories once per change of an object, so a sync of 10k unchanged
 * services hashes nothing.
 */
import type { EndpointInfo, ServicePortInfo } from '../service-model.ts';
import {
  EXT_PREFIX,
  FW_PREFIX,
  SVC_PREFIX,
  SVL_PREFIX,
  endpointChainName,
  portProtoHash,
} from './chain-names.ts';

export type IptablesProtocol = 'tcp' | 'udp' | 'sctp';

export interface IptablesServicePort extends ServicePortInfo {
  /** 'tcp' | 'udp' | 'sctp', for -p and -m. */
  readonly proto: IptablesProtocol;
  /** KUBE-SVC-<hash>: Cluster-policy endpoints. */
  readonly svcChain: string;
  /** KUBE-SVL-<hash>: Local-policy endpoints. */
  readonly svlChain: string;
  /** KUBE-EXT-<hash>: external destinations. */
  readonly extChain: string;
  /** KUBE-FW-<hash>: never written (no loadBalancerSourceRanges in kdp's model), named for completeness. */
  readonly fwChain: string;
}

export interface IptablesEndpoint extends EndpointInfo {
  /** KUBE-SEP-<hash>. */
  readonly chain: string;
}

export function makeIptablesServicePort(base: ServicePortInfo): IptablesServicePort {
  const hash = portProtoHash(base.id, base.protocol);
  return {
    ...base,
    proto: base.protocol.toLowerCase() as IptablesProtocol,
    svcChain: SVC_PREFIX + hash,
    svlChain: SVL_PREFIX + hash,
    extChain: EXT_PREFIX + hash,
    fwChain: FW_PREFIX + hash,
  };
}

/** `servicePortKey` is `<ServicePortName>/<PROTOCOL>`; the chain hashes the name, protocol and ip:port. */
export function makeIptablesEndpoint(base: EndpointInfo, servicePortKey: string): IptablesEndpoint {
  const slash = servicePortKey.lastIndexOf('/');
  const id = servicePortKey.slice(0, slash);
  const protocol = servicePortKey.slice(slash + 1);
  return { ...base, chain: endpointChainName(id, protocol, base.key) };
}
