/**
 * A typed BPF map: keys and values through codecs (checked against the object's BTF when the map
 * is taken from the object), single operations, iteration, and batch variants that move thousands
 * of entries in one bpf() call. Per-CPU maps use a perCpu(...) value codec: one value per possible
 * CPU, summed or inspected by the caller.
 */
import { KdpError } from '../errors.ts';
import type { Codec } from './codec.ts';
import { BPF_ERR, bpfError, errnoOf } from './errors.ts';
import type { EbpfAddon } from './native.ts';

export type UpdateFlag = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: 0, noexist: 1, exist: 2 };

export interface MapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export class BpfMap<K, V> {
  readonly #addon: EbpfAddon;
  readonly #fd: () => number;
  readonly #key: Buffer;
  readonly #value: Buffer;

  constructor(
    addon: EbpfAddon,
    readonly info: MapInfo,
    fd: () => number,
    readonly keyCodec: Codec<K>,
    readonly valueCodec: Codec<V>,
  ) {
    this.#addon = addon;
    this.#fd = fd;
    this.#key = Buffer.alloc(keyCodec.size);
    this.#value = Buffer.alloc(valueCodec.size);
  }

  get name(): string {
    return this.info.name;
  }

  /** The map's fd (owned by its object; valid until the object is closed). */
  get fd(): number {
    return this.#fd();
  }

  lookup(key: K): V | undefined {
    this.keyCodec.encode(key, this.#key, 0);
    const found = this.#call('look up in', () =>
      this.#addon.mapLookup(this.#fd(), this.#key, this.#value, 0),
    );
    return found ? this.valueCodec.decode(this.#value, 0) : undefined;
  }

  update(key: K, value: V, flag: UpdateFlag = 'any'): void {
    this.keyCodec.encode(key, this.#key, 0);
    this.valueCodec.encode(value, this.#value, 0);
    this.#call('update', () => this.#addon.mapUpdate(this.#fd(), this.#key, this.#value, UPDATE_FLAGS[flag]));
  }

  /** False when the key was not there. */
  delete(key: K): boolean {
    this.keyCodec.encode(key, this.#key, 0);
    return this.#call('delete from', () => this.#addon.mapDelete(this.#fd(), this.#key));
  }

  *keys(): Generator<K> {
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keyCodec.size);
      if (!this.#call('iterate', () => this.#addon.mapNextKey(this.#fd(), prev, next))) return;
      yield this.keyCodec.decode(next, 0);
      prev = next;
    }
  }

  /** Key and value pairs; entries deleted meanwhile are skipped. */
  *entries(): Generator<[K, V]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** Writes every entry in one BPF_MAP_UPDATE_BATCH (hash and array maps, Linux 5.6+). */
  updateBatch(entries: readonly (readonly [K, V])[], flag: UpdateFlag = 'any'): number {
    if (entries.length === 0) return 0;
    const keys = Buffer.alloc(this.keyCodec.size * entries.length);
    const values = Buffer.alloc(this.valueCodec.size * entries.length);
    entries.forEach(([k, v], i) => {
      this.keyCodec.encode(k, keys, i * this.keyCodec.size);
      this.valueCodec.encode(v, values, i * this.valueCodec.size);
    });
    return this.updateBatchRaw(keys, values, entries.length, flag);
  }

  /** updateBatch over keys and values already encoded back to back (for callers that reuse buffers). */
  updateBatchRaw(keys: Buffer, values: Buffer, count: number, flag: UpdateFlag = 'any'): number {
    if (keys.length < count * this.keyCodec.size || values.length < count * this.valueCodec.size)
      throw new KdpError(BPF_ERR.codec, `batch of ${count} needs ${count * this.keyCodec.size} key bytes`);
    return this.#call('batch update', () =>
      this.#addon.mapUpdateBatch(this.#fd(), keys, values, count, UPDATE_FLAGS[flag]),
    );
  }

  /** Every entry, read `chunk` at a time with BPF_MAP_LOOKUP_BATCH. */
  lookupBatch(chunk = 1024): [K, V][] {
    const ks = this.keyCodec.size;
    const vs = this.valueCodec.size;
    const keys = Buffer.alloc(ks * chunk);
    const values = Buffer.alloc(vs * chunk);
    const tokenSize = Math.max(ks, 8);
    let inBatch: Buffer | null = null;
    const out: [K, V][] = [];
    for (;;) {
      const outBatch = Buffer.alloc(tokenSize);
      const r = this.#call('batch look up in', () =>
        this.#addon.mapLookupBatch(this.#fd(), inBatch, outBatch, keys, values, chunk),
      );
      for (let i = 0; i < r.count; i++)
        out.push([this.keyCodec.decode(keys, i * ks), this.valueCodec.decode(values, i * vs)]);
      if (r.done) return out;
      inBatch = outBatch;
    }
  }

  /** Deletes the keys in one BPF_MAP_DELETE_BATCH; a missing key stops it (KDP_ERR_BPF_NOT_FOUND). */
  deleteBatch(keys: readonly K[]): number {
    if (keys.length === 0) return 0;
    const buf = Buffer.alloc(this.keyCodec.size * keys.length);
    keys.forEach((k, i) => this.keyCodec.encode(k, buf, i * this.keyCodec.size));
    return this.#call('batch delete from', () => this.#addon.mapDeleteBatch(this.#fd(), buf, keys.length));
  }

  #call<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof KdpError) throw e;
      const code = errnoOf(e) === 'ENOENT' ? BPF_ERR.notFound : BPF_ERR.syscall;
      throw bpfError(code, `${what} map ${this.info.name}`, e);
    }
  }
}
