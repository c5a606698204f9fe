/**
 * The ClusterIP allocator: a bitmap over the usable addresses of the service CIDR (the network
 * and broadcast addresses are never handed out). Refusals carry upstream's wording, which the
 * Service strategy puts into the 422 it answers with.
 */
import { Address4 } from 'ip-address';
import { KdpError } from '../../errors.ts';
import type { IPAllocator } from '../registry/allocators-interface.ts';
import { BandedBitmap, staticBandSize } from './bitmap.ts';

/** Upstream refuses service ranges larger than a /12 for IPv4; a bitmap that size is 128 KiB. */
const LARGEST_PREFIX = 12;

export class ClusterIPAllocator implements IPAllocator {
  readonly cidr: string;
  /** The first usable address (network + 1) as a number. */
  private readonly base: number;
  private readonly slots: BandedBitmap;

  constructor(serviceCIDR: string) {
    let net: Address4;
    try {
      net = new Address4(serviceCIDR);
    } catch (e) {
      throw new KdpError(
        'KDP_ERR_SERVICE_CIDR',
        `service CIDR "${serviceCIDR}" is not a valid IPv4 CIDR (e.g. 10.96.0.0/16); kdp's apiserver is IPv4 single-stack`,
        { cause: e },
      );
    }
    const prefix = net.subnetMask;
    if (!serviceCIDR.includes('/') || prefix < LARGEST_PREFIX || prefix > 30) {
      throw new KdpError(
        'KDP_ERR_SERVICE_CIDR',
        `service CIDR "${serviceCIDR}" must have a prefix between /${LARGEST_PREFIX} and /30 (e.g. 10.96.0.0/16)`,
      );
    }
    const network = Number(net.startAddress().bigInt());
    this.cidr = `${net.startAddress().correctForm()}/${prefix}`;
    this.base = network + 1;
    const size = 2 ** (32 - prefix) - 2;
    this.slots = new BandedBitmap(size, staticBandSize(size, 16, 256, 16));
  }

  get free(): number {
    return this.slots.free;
  }

  allocate(ip: string): { ok: true } | { ok: false; reason: string } {
    const i = this.offset(ip);
    if (i === undefined) {
      return {
        ok: false,
        reason: `provided IP is not in the valid range. The range of valid IPs is ${this.cidr}`,
      };
    }
    if (!this.slots.take(i)) return { ok: false, reason: 'provided IP is already allocated' };
    return { ok: true };
  }

  allocateNext(): string | undefined {
    const i = this.slots.takeNext();
    return i === undefined ? undefined : Address4.fromInteger(this.base + i).correctForm();
  }

  release(ip: string): void {
    const i = this.offset(ip);
    if (i !== undefined) this.slots.release(i);
  }

  has(ip: string): boolean {
    const i = this.offset(ip);
    return i !== undefined && this.slots.has(i);
  }

  reset(): void {
    this.slots.reset();
  }

  /** Slot of an address, or undefined when it is not a usable address of the range. */
  private offset(ip: string): number | undefined {
    if (ip.includes('/') || !Address4.isValid(ip)) return undefined;
    const i = Number(new Address4(ip).bigInt()) - this.base;
    return i >= 0 && i < this.slots.size ? i : undefined;
  }
}
