/**
 * Host-local IPAM, as the CNI plugin of that name: pod addresses from the node's pod CIDR, handed
 * out next-fit after the last one reserved (so an address freed by a deleted pod is not reused at
 * once while others are free), never the network address, the gateway (the first address, cni0's)
 * or the broadcast address. The allocations are kept in one JSON file in the agent's state dir,
 * written atomically (temp file + rename), so a restarted agent gives every running pod its
 * address back and never hands it to another.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isIpv4, ipv4ToNumber, numberToIpv4, parseIpv4Cidr } from '../kernel/cidr.ts';
import { KdpError } from '../errors.ts';

export const IPAM_EXHAUSTED = 'KDP_ERR_AGENT_IPAM_EXHAUSTED';

interface IpamFile {
  cidr?: string;
  lastReserved?: string;
  /** address -> owner (a pod's uid). */
  allocations?: Record<string, string>;
}

export class HostLocalIpam {
  private range?: { cidr: string; network: bigint; size: bigint };
  private lastReserved?: bigint;
  private readonly byIp = new Map<string, string>();
  private readonly byOwner = new Map<string, string>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  /** The IPAM stored in `file`, or an empty one when there is none yet. */
  static async load(file: string): Promise<HostLocalIpam> {
    const ipam = new HostLocalIpam(file);
    let data: IpamFile = {};
    try {
      data = JSON.parse(await readFile(file, 'utf8')) as IpamFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new KdpError('KDP_ERR_AGENT_STATE', `cannot read the IPAM state ${file}`, { cause: e });
      }
    }
    if (data.cidr) ipam.setRange(data.cidr);
    for (const [ip, owner] of Object.entries(data.allocations ?? {})) {
      if (isIpv4(ip) && typeof owner === 'string') ipam.take(ip, owner);
    }
    if (data.lastReserved && isIpv4(data.lastReserved)) ipam.lastReserved = ipv4ToNumber(data.lastReserved);
    return ipam;
  }

  get cidr(): string | undefined {
    return this.range?.cidr;
  }

  /** The pods' default gateway: the first address of the range (cni0's). */
  get gateway(): string | undefined {
    return this.range ? numberToIpv4(this.range.network + 1n) : undefined;
  }

  get prefixLength(): number | undefined {
    return this.range ? parseIpv4Cidr(this.range.cidr)!.prefix : undefined;
  }

  /**
   * Sets the pool to the node's pod CIDR. Allocations outside the new range are dropped and
   * returned (their pods must get new addresses); a range that does not change changes nothing.
   */
  setRange(cidr: string): { ip: string; owner: string }[] {
    if (this.range?.cidr === cidr) return [];
    const c = parseIpv4Cidr(cidr);
    if (!c || !cidr.includes('/'))
      throw new KdpError('KDP_ERR_AGENT_IPAM_RANGE', `"${cidr}" is not an IPv4 CIDR`);
    this.range = { cidr, network: c.network, size: c.size };
    this.lastReserved = undefined;
    const dropped: { ip: string; owner: string }[] = [];
    for (const [ip, owner] of [...this.byIp]) {
      if (!this.usable(ipv4ToNumber(ip))) {
        dropped.push({ ip, owner });
        this.byIp.delete(ip);
        this.byOwner.delete(owner);
      }
    }
    return dropped;
  }

  ipOf(owner: string): string | undefined {
    return this.byOwner.get(owner);
  }

  owners(): string[] {
    return [...this.byOwner.keys()];
  }

  /** The owner's address: the one it has, or the next free one. Throws IPAM_EXHAUSTED when none is left. */
  allocate(owner: string): string {
    const have = this.byOwner.get(owner);
    if (have) return have;
    const range = this.requireRange();
    const start = this.lastReserved !== undefined ? this.lastReserved - range.network : 0n;
    for (let step = 1n; step <= range.size; step++) {
      const n = range.network + ((start + step) % range.size);
      const ip = numberToIpv4(n);
      if (!this.usable(n) || this.byIp.has(ip)) continue;
      this.take(ip, owner);
      this.lastReserved = n;
      return ip;
    }
    throw new KdpError(
      IPAM_EXHAUSTED,
      `no free pod address in ${range.cidr}: all ${this.byIp.size} usable addresses are taken; delete pods or give nodes larger pod CIDRs`,
      { details: { cidr: range.cidr, allocated: this.byIp.size } },
    );
  }

  /**
   * Records an address an owner already holds (a pod found running at start whose allocation was
   * not in the file). False when the address is outside the range or another owner's.
   */
  restore(ip: string, owner: string): boolean {
    if (!isIpv4(ip) || !this.usable(ipv4ToNumber(ip))) return false;
    const holder = this.byIp.get(ip);
    if (holder !== undefined && holder !== owner) return false;
    this.take(ip, owner);
    return true;
  }

  /** Frees the owner's address; returns it, or undefined if it had none. */
  release(owner: string): string | undefined {
    const ip = this.byOwner.get(owner);
    if (ip === undefined) return undefined;
    this.byOwner.delete(owner);
    this.byIp.delete(ip);
    return ip;
  }

  /** Writes the state; saves never overlap and each writes the state at the time it runs. */
  save(): Promise<void> {
    const run = async () => {
      const data: IpamFile = {
        cidr: this.range?.cidr,
        lastReserved: this.lastReserved !== undefined ? numberToIpv4(this.lastReserved) : undefined,
        allocations: Object.fromEntries([...this.byIp].sort(([a], [b]) => (a < b ? -1 : 1))),
      };
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.file);
    };
    this.saving = this.saving.then(run, run);
    return this.saving;
  }

  private take(ip: string, owner: string): void {
    const prev = this.byOwner.get(owner);
    if (prev) this.byIp.delete(prev);
    this.byIp.set(ip, owner);
    this.byOwner.set(owner, ip);
  }

  private usable(n: bigint): boolean {
    const r = this.range;
    if (!r) return false;
    // Network, gateway and broadcast are never a pod's.
    return n > r.network + 1n && n < r.network + r.size - 1n;
  }

  private requireRange() {
    if (!this.range) throw new KdpError('KDP_ERR_AGENT_IPAM_RANGE', 'the node has no pod CIDR yet');
    return this.range;
  }
}
