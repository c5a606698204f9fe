/**
 * A fixed set of numbered slots (0..size-1) that are either free or taken, the core of both
 * the ClusterIP and the NodePort allocator. Dynamic picks prefer the upper part of the range and
 * only fall back to the lower "static band" when the upper part is full, as upstream does since
 * KEP-3070 (ClusterIPs) and KEP-3668 (NodePorts): users who pick fixed values from the low end
 * then rarely collide with automatically assigned ones.
 */

export class BandedBitmap {
  private readonly bits: Uint8Array;
  private used = 0;

  /** `staticBand` slots at the low end are handed out dynamically only when the rest are gone. */
  constructor(
    readonly size: number,
    readonly staticBand: number,
  ) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }

  get free(): number {
    return this.size - this.used;
  }

  has(i: number): boolean {
    return i >= 0 && i < this.size && (this.bits[i >> 3] & (1 << (i & 7))) !== 0;
  }

  /** Marks slot `i` taken; false when it already was. */
  take(i: number): boolean {
    if (this.has(i)) return false;
    this.bits[i >> 3] |= 1 << (i & 7);
    this.used++;
    return true;
  }

  release(i: number): void {
    if (!this.has(i)) return;
    this.bits[i >> 3] &= ~(1 << (i & 7));
    this.used--;
  }

  /** Takes a free slot, upper band first, from a random start so concurrent users spread out. */
  takeNext(): number | undefined {
    if (this.used >= this.size) return undefined;
    const found = this.scan(this.staticBand, this.size) ?? this.scan(0, this.staticBand);
    if (found !== undefined) this.take(found);
    return found;
  }

  reset(): void {
    this.bits.fill(0);
    this.used = 0;
  }

  /** First free slot in [from, to), starting at a random point and wrapping around. */
  private scan(from: number, to: number): number | undefined {
    const n = to - from;
    if (n <= 0) return undefined;
    const start = from + Math.floor(Math.random() * n);
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= to) i -= n;
      // Skip whole bytes that are full instead of testing eight bits one by one.
      if ((i & 7) === 0 && i + 8 <= to && this.bits[i >> 3] === 0xff) {
        k += 7;
        continue;
      }
      if (!this.has(i)) return i;
    }
    return undefined;
  }
}

/** Size of the low band reserved for static picks: size/step clamped to [min, max], none when tiny. */
export function staticBandSize(size: number, min: number, max: number, step: number): number {
  if (size <= min) return 0;
  return Math.min(max, Math.max(min, Math.floor(size / step)));
}
