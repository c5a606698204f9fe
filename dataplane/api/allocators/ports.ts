/**
 * The NodePort allocator: a bitmap over the node port range (30000-32767 by default), shared by
 * every protocol as upstream's is, so a port number belongs to one Service at a time.
 */
import { KdpError } from '../../errors.ts';
import type { PortAllocator } from '../registry/allocators-interface.ts';
import { BandedBitmap, staticBandSize } from './bitmap.ts';

export class NodePortAllocator implements PortAllocator {
  readonly range: { first: number; last: number };
  private readonly slots: BandedBitmap;

  constructor(range: { first: number; last: number }) {
    const { first, last } = range;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > 65535 || first > last) {
      throw new KdpError(
        'KDP_ERR_NODEPORT_RANGE',
        `node port range ${first}-${last} is not valid: it needs 1 <= first <= last <= 65535 (e.g. 30000-32767)`,
      );
    }
    this.range = { first, last };
    const size = last - first + 1;
    this.slots = new BandedBitmap(size, staticBandSize(size, 16, 128, 32));
  }

  get free(): number {
    return this.slots.free;
  }

  allocate(port: number): { ok: true } | { ok: false; reason: string } {
    if (!this.inRange(port)) {
      const { first, last } = this.range;
      return {
        ok: false,
        reason: `provided port is not in the valid range. The range of valid ports is ${first}-${last}`,
      };
    }
    if (!this.slots.take(port - this.range.first))
      return { ok: false, reason: 'provided port is already allocated' };
    return { ok: true };
  }

  allocateNext(): number | undefined {
    const i = this.slots.takeNext();
    return i === undefined ? undefined : this.range.first + i;
  }

  release(port: number): void {
    if (this.inRange(port)) this.slots.release(port - this.range.first);
  }

  has(port: number): boolean {
    return this.inRange(port) && this.slots.has(port - this.range.first);
  }

  reset(): void {
    this.slots.reset();
  }

  private inRange(port: number): boolean {
    return Number.isInteger(port) && port >= this.range.first && port <= this.range.last;
  }
}
