/**
 * The allocators a Service strategy uses: ClusterIPs from the service CIDR and NodePorts from
 * the node port range. Both are rebuilt from the stored Services at start, so they survive a
 * restart of a durable apiserver without a separate table.
 */

export interface IPAllocator {
  /** The CIDR it allocates from, e.g. 10.96.0.0/16. */
  readonly cidr: string;
  /** Takes a specific address; throws ApiError Invalid-style reasons via the returned string. */
  allocate(ip: string): { ok: true } | { ok: false; reason: string };
  allocateNext(): string | undefined;
  release(ip: string): void;
  has(ip: string): boolean;
  readonly free: number;
}

export interface PortAllocator {
  /** e.g. { first: 30000, last: 32767 } */
  readonly range: { first: number; last: number };
  allocate(port: number): { ok: true } | { ok: false; reason: string };
  allocateNext(): number | undefined;
  release(port: number): void;
  has(port: number): boolean;
  readonly free: number;
}

export interface Allocators {
  clusterIP: IPAllocator;
  nodePort: PortAllocator;
}
