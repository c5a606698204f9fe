/**
 * The background-Services axis (`--services 0,1000,10000`, `--endpoints-per-service 10`): sizes
 * parsed and checked against what this host can hold before anything is built. Limits, each named
 * in the refusal:
 *   - ClusterIPs: every Service takes one from the Service CIDR (10.96.0.0/16: 65,534 addresses,
 *     a few taken by the cluster's own Services);
 *   - memory: an estimate of what N Services x E endpoints cost on a 2-node cluster (apiserver
 *     objects, each agent's model, each node's kernel rules), against the memory available now.
 * Pure: the host's figures come from the caller (HostLimits), so tests give their own.
 */
import { readFileSync } from 'node:fs';
import { KdpError } from '../../dataplane/errors.ts';

export const MAX_BACKGROUND_SERVICES = 100_000;
/** ClusterIPs in the default Service CIDR (/16) minus network and broadcast, minus headroom for the world's own. */
export const SERVICE_CIDR_CAPACITY = 65_534 - 64;
/**
 * Bytes per Service per node and per endpoint (measured roughly on this machine at 10k x 10: about
 * 0.6 GB for a 2-node cluster): kernel rules and agent model per node, objects in the apiserver.
 */
const BYTES_PER_SERVICE_NODE = 2_500;
const BYTES_PER_ENDPOINT_NODE = 2_500;
const NODES = 2;

export interface HostLimits {
  /** MemAvailable now. */
  memoryAvailableBytes: number;
}

export function readHostLimits(meminfo?: string): HostLimits {
  let text = meminfo;
  try {
    text ??= readFileSync('/proc/meminfo', 'utf8');
  } catch {
    text = '';
  }
  const kb = Number(/^MemAvailable:\s+(\d+) kB/m.exec(text)?.[1] ?? NaN);
  return { memoryAvailableBytes: Number.isFinite(kb) ? kb * 1024 : Number.POSITIVE_INFINITY };
}

/** Estimated memory N Services x E endpoints take on the bench's 2-node cluster. */
export function estimatedBytes(services: number, endpoints: number): number {
  return services * NODES * (BYTES_PER_SERVICE_NODE + endpoints * BYTES_PER_ENDPOINT_NODE);
}

/** What keeps this host from holding N Services x E endpoints, or undefined. */
export function servicesLimit(services: number, endpoints: number, host: HostLimits): string | undefined {
  if (services > SERVICE_CIDR_CAPACITY)
    return `${services} Services need ${services} ClusterIPs; the Service CIDR 10.96.0.0/16 holds ${SERVICE_CIDR_CAPACITY} besides the cluster's own`;
  const need = estimatedBytes(services, endpoints);
  // Half of what is available: the traffic tools, the build and other users need the rest.
  if (need > host.memoryAvailableBytes / 2) {
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    return `${services} Services x ${endpoints} endpoints need about ${gb(need)} on a 2-node cluster; this host has ${gb(host.memoryAvailableBytes)} available (at most half is used)`;
  }
  return undefined;
}

const usage = (message: string) => new KdpError('KDP_ERR_USAGE', message);

/** `--services 0,1000,10000`: sorted, unique, each within 0..MAX and what the host can hold. */
export function parseServicesFlag(value: string, endpoints: number, host: HostLimits): number[] {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0)
    throw usage(
      `--services needs at least one size, e.g. 0,1000,10000 (whole numbers from 0 to ${MAX_BACKGROUND_SERVICES})`,
    );
  const sizes = parts.map((p) => {
    const n = Number(p.replace(/_/g, ''));
    if (!/^\d[\d_]*$/.test(p) || !Number.isSafeInteger(n) || n > MAX_BACKGROUND_SERVICES)
      throw usage(
        `--services: "${p}" is not a size; valid: whole numbers from 0 to ${MAX_BACKGROUND_SERVICES}, comma-separated`,
      );
    return n;
  });
  const unique = [...new Set(sizes)].sort((a, b) => a - b);
  for (const n of unique) {
    const why = servicesLimit(n, endpoints, host);
    if (why) throw usage(`--services ${n}: refused before building anything: ${why}`);
  }
  return unique;
}
