/**
 * A set of equal-sized subnets carved out of one IPv4 CIDR (10.244.0.0/16 into /24s), handed out
 * next-fit from a rotating cursor as upstream's range allocator does, so a freed subnet is not
 * reused at once while others are free. Used for Node pod CIDRs; the same class hands out single
 * addresses (a /32 "subnet") from a Node's pod CIDR for the simulated kubelet.
 */
import { Address4 } from 'ip-address';
import { KdpError } from '../errors.ts';

export class CidrSet {
  readonly cidr: string;
  readonly size: number;
  readonly maskSize: number;
  private readonly base: bigint;
  private readonly step: bigint;
  private readonly used = new Set<number>();
  private readonly reserved: Set<number>;
  private cursor = 0;

  /** `reserved` are indexes never handed out (a pod CIDR's network, gateway and broadcast). */
  constructor(cidr: string, subnetMaskSize: number, reserved: number[] = []) {
    let net: Address4;
    try {
      net = new Address4(cidr);
    } catch (cause) {
      throw new KdpError('KDP_ERR_INVALID_CIDR', `"${cidr}" is not an IPv4 CIDR`, { cause });
    }
    if (!cidr.includes('/'))
      throw new KdpError('KDP_ERR_INVALID_CIDR', `"${cidr}" has no prefix length (e.g. /16)`);
    const prefix = net.subnetMask;
    if (
      !Number.isInteger(subnetMaskSize) ||
      subnetMaskSize < prefix ||
      subnetMaskSize > 32 ||
      subnetMaskSize - prefix > 24
    ) {
      throw new KdpError(
        'KDP_ERR_INVALID_CIDR',
        `subnet mask /${subnetMaskSize} does not fit ${cidr}: it must be between /${prefix} and /${Math.min(32, prefix + 24)}`,
      );
    }
    this.base = net.startAddress().bigInt();
    this.cidr = `${net.startAddress().correctForm()}/${prefix}`;
    this.step = 1n << BigInt(32 - subnetMaskSize);
    this.size = 2 ** (subnetMaskSize - prefix);
    this.maskSize = subnetMaskSize;
    this.reserved = new Set(reserved.map((i) => (i < 0 ? this.size + i : i)));
  }

  get free(): number {
    return this.size - this.reserved.size - this.used.size;
  }

  /** The subnet (or address, for /32) at an index. */
  format(index: number): string {
    const addr = Address4.fromBigInt(this.base + BigInt(index) * this.step).correctForm();
    return this.maskSize === 32 ? addr : `${addr}/${this.maskSize}`;
  }

  /** The index of a subnet (or address) of this set; undefined when it is not one. */
  indexOf(subnet: string): number | undefined {
    let a: Address4;
    try {
      a = new Address4(subnet);
    } catch {
      return undefined;
    }
    if (subnet.includes('/') && a.subnetMask !== this.maskSize) return undefined;
    const off = a.startAddress().bigInt() - this.base;
    if (off < 0n || off % this.step !== 0n || off / this.step >= BigInt(this.size)) return undefined;
    return Number(off / this.step);
  }

  /** Marks a subnet used (rebuilding from existing state); false when not part of this set. */
  occupy(subnet: string): boolean {
    const i = this.indexOf(subnet);
    if (i === undefined || this.reserved.has(i)) return false;
    this.used.add(i);
    return true;
  }

  has(subnet: string): boolean {
    const i = this.indexOf(subnet);
    return i !== undefined && this.used.has(i);
  }

  /** The next free subnet, or undefined when all are taken. */
  allocateNext(): string | undefined {
    for (let n = 0; n < this.size; n++) {
      const i = (this.cursor + n) % this.size;
      if (this.used.has(i) || this.reserved.has(i)) continue;
      this.used.add(i);
      this.cursor = (i + 1) % this.size;
      return this.format(i);
    }
    return undefined;
  }

  release(subnet: string): void {
    const i = this.indexOf(subnet);
    if (i !== undefined) this.used.delete(i);
  }
}
