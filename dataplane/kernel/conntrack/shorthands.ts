/**
 * The flushes kube-proxy does, as shorthands over Conntrack.delete: one implementation shared by
 * the real tool and the fake, so the two cannot drift apart on which filter each one means.
 */
import type { Conntrack, ConntrackFilter, ConntrackProtocol } from './interface.ts';

export abstract class ConntrackShorthands implements Pick<
  Conntrack,
  'deleteByDestination' | 'deleteByPort' | 'deleteByNat' | 'deleteByPortNat'
> {
  abstract delete(ns: string, filter: ConntrackFilter): Promise<number>;

  deleteByDestination(ns: string, ip: string, protocol?: ConntrackProtocol): Promise<number> {
    return this.delete(ns, { origDst: ip, protocol });
  }

  deleteByPort(ns: string, port: number, protocol: ConntrackProtocol): Promise<number> {
    return this.delete(ns, { protocol, origDstPort: port });
  }

  deleteByNat(
    ns: string,
    serviceIp: string,
    endpointIp: string,
    protocol: ConntrackProtocol,
  ): Promise<number> {
    return this.delete(ns, { origDst: serviceIp, dstNat: endpointIp, protocol });
  }

  deleteByPortNat(
    ns: string,
    port: number,
    endpointIp: string,
    protocol: ConntrackProtocol,
  ): Promise<number> {
    return this.delete(ns, { protocol, origDstPort: port, dstNat: endpointIp });
  }
}
