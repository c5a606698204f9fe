/**
 * The apiserver's allocators: ClusterIPs from the service CIDR and NodePorts from the node port
 * range. They keep no table of their own: `rebuild` recomputes them from the stored Services,
 * at start and after a restart from SQLite.
 */
import type { Allocators } from '../registry/allocators-interface.ts';
import type { Service } from '../types.ts';
import { ClusterIPAllocator } from './cidr.ts';
import { heldClusterIPs, heldNodePorts } from './held.ts';
import { NodePortAllocator } from './ports.ts';

export interface AllocatorOptions {
  serviceCIDR: string;
  nodePortRange: { first: number; last: number };
}

export interface RebuildableAllocators extends Allocators {
  /** Marks every ClusterIP and NodePort the given (stored) Services hold as used. */
  rebuild(services: readonly Service[]): void;
}

export function createAllocators(opts: AllocatorOptions): RebuildableAllocators {
  const clusterIP = new ClusterIPAllocator(opts.serviceCIDR);
  const nodePort = new NodePortAllocator(opts.nodePortRange);
  return {
    clusterIP,
    nodePort,
    rebuild(services) {
      clusterIP.reset();
      nodePort.reset();
      // Values outside the current ranges (the flags changed since) are simply not tracked.
      for (const svc of services) {
        for (const ip of heldClusterIPs(svc)) clusterIP.allocate(ip);
        for (const port of heldNodePorts(svc)) nodePort.allocate(port);
      }
    },
  };
}
