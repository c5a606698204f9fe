/**
 * A BPF object file (ELF compiled by clang): open() parses it (no privilege needed: programs, maps
 * and their BTF types are readable before anything is loaded), load() hands it to the kernel
 * (libbpf applies CO-RE relocations against /sys/kernel/btf/vmlinux, creates the maps, the verifier
 * checks the programs), then programs and typed maps by name. close() releases every fd of the
 * object; links made from its programs hold their own references and detach only on their close().
 */
import { KdpError } from '../errors.ts';
import { assertCodecMatchesBtf } from './btf-check.ts';
import { bytes, perCpu, type Codec } from './codec.ts';
import { BPF_ERR, bpfError, loadError } from './errors.ts';
import { BpfMap } from './map.ts';
import {
  loadEbpfAddon,
  type EbpfAddon,
  type NativeBpfObject,
  type NativeMapInfo,
  type NativeProgramInfo,
} from './native.ts';
import { RingBufferReader } from './ringbuf.ts';

/** enum bpf_map_type values of the per-CPU maps (their values are one slot per possible CPU). */
const PER_CPU_MAP_TYPES = new Set([5, 6, 10, 21]);
const RINGBUF_MAP_TYPE = 27;

export interface TestRunOptions {
  /** Runs in a row (the kernel reports the mean duration); default 1. */
  repeat?: number;
  /** Bytes to read back of the packet after the run (default: as long as the input). */
  dataOutSize?: number;
  /** The program's context (e.g. a struct __sk_buff), when the type accepts one. */
  ctx?: Buffer;
}

export interface TestRunResult {
  /** The program's return value. */
  retval: number;
  /** Mean run time in nanoseconds, as the kernel measured it. */
  durationNs: number;
  /** The packet after the run. */
  data: Buffer;
}

export class BpfProgram {
  constructor(
    private readonly addon: EbpfAddon,
    readonly info: NativeProgramInfo,
    private readonly fdOf: () => number,
  ) {}

  get name(): string {
    return this.info.name;
  }

  /** The program's fd (valid until its object is closed). */
  get fd(): number {
    return this.fdOf();
  }

  /** BPF_PROG_TEST_RUN: runs the program on `data` in the kernel, without traffic. */
  testRun(data: Buffer, options: TestRunOptions = {}): TestRunResult {
    try {
      const r = this.addon.progTestRun(
        this.fd,
        data,
        options.dataOutSize ?? data.length,
        options.repeat ?? 1,
        options.ctx ?? null,
      );
      return { retval: r.retval, durationNs: r.duration, data: r.data };
    } catch (e) {
      throw bpfError(BPF_ERR.syscall, `test run of program ${this.name}`, e);
    }
  }
}

export class BpfObject {
  #native: NativeBpfObject | undefined;
  #loaded = false;
  readonly programInfo: readonly NativeProgramInfo[];
  readonly mapInfo: readonly NativeMapInfo[];

  private constructor(
    private readonly addon: EbpfAddon,
    native: NativeBpfObject,
    readonly path: string,
  ) {
    this.#native = native;
    this.programInfo = native.programs();
    this.mapInfo = native.maps();
  }

  /** Parses the ELF object; nothing reaches the kernel until load(). */
  static open(path: string): BpfObject {
    const addon = loadEbpfAddon();
    let native: NativeBpfObject;
    try {
      native = new addon.BpfObject(path);
    } catch (e) {
      const code = (e as { code?: string }).code === 'ENOENT' ? BPF_ERR.notFound : BPF_ERR.open;
      throw bpfError(code, `open BPF object ${path}`, e);
    }
    return new BpfObject(addon, native, path);
  }

  /** open() then load(). */
  static load(path: string): BpfObject {
    const obj = BpfObject.open(path);
    try {
      obj.load();
    } catch (e) {
      obj.close();
      throw e;
    }
    return obj;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Loads into the kernel; a refusal is KDP_ERR_BPF_LOAD with the verifier's log. */
  load(): void {
    const native = this.#live();
    try {
      native.load();
    } catch (e) {
      throw loadError(this.path, e);
    }
    this.#loaded = true;
  }

  program(name: string): BpfProgram {
    const info = this.programInfo.find((p) => p.name === name);
    if (!info) throw this.#missing('program', name, this.programInfo);
    return new BpfProgram(this.addon, info, () => this.#fd('program', name, (n) => n.programFd(name)));
  }

  /** A typed map; the codecs are checked against the map's BTF key and value types now. */
  map<K, V>(name: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    const info = this.#mapInfo(name, key, value);
    if (PER_CPU_MAP_TYPES.has(info.type))
      throw new KdpError(
        BPF_ERR.codec,
        `map ${name} is per-CPU: use perCpuMap(), whose values are one per CPU`,
      );
    return new BpfMap(this.addon, info, () => this.#fd('map', name, (n) => n.mapFd(name)), key, value);
  }

  /** A per-CPU map: values are arrays with one element per possible CPU. */
  perCpuMap<K, V>(name: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V[]> {
    const info = this.#mapInfo(name, key, value);
    if (!PER_CPU_MAP_TYPES.has(info.type))
      throw new KdpError(BPF_ERR.codec, `map ${name} is not per-CPU: use map()`);
    const codec = perCpu(value, this.addon.numPossibleCpus());
    return new BpfMap(this.addon, info, () => this.#fd('map', name, (n) => n.mapFd(name)), key, codec);
  }

  /** A reader of a ring buffer map, records decoded with `record` (default: raw Buffers of any size). */
  ringBuffer<T = Buffer>(name: string, record?: Codec<T>): RingBufferReader<T> {
    const info = this.mapInfo.find((m) => m.name === name);
    if (!info) throw this.#missing('map', name, this.mapInfo);
    if (info.type !== RINGBUF_MAP_TYPE) throw new KdpError(BPF_ERR.codec, `map ${name} is not a ring buffer`);
    const fd = this.#fd('map', name, (n) => n.mapFd(name));
    try {
      const ring = new this.addon.RingBuffer(fd);
      return new RingBufferReader(ring, name, record ?? (rawRecord as unknown as Codec<T>));
    } catch (e) {
      throw bpfError(BPF_ERR.syscall, `open ring buffer ${name}`, e);
    }
  }

  /** Releases the object's programs and maps. Idempotent. */
  close(): void {
    this.#native?.close();
    this.#native = undefined;
  }

  #live(): NativeBpfObject {
    if (!this.#native) throw new KdpError(BPF_ERR.closed, `BPF object ${this.path} is closed`);
    return this.#native;
  }

  #fd(kind: string, name: string, get: (n: NativeBpfObject) => number | undefined): number {
    const native = this.#live();
    if (!this.#loaded)
      throw new KdpError(BPF_ERR.closed, `${kind} ${name}: load() the object ${this.path} first`);
    const fd = get(native);
    if (fd === undefined || fd < 0)
      throw new KdpError(BPF_ERR.notFound, `${kind} ${name} has no fd in ${this.path}`);
    return fd;
  }

  #mapInfo(name: string, key: Codec<unknown>, value: Codec<unknown>): NativeMapInfo {
    const info = this.mapInfo.find((m) => m.name === name);
    if (!info) throw this.#missing('map', name, this.mapInfo);
    const what = `map ${name} in ${this.path}`;
    if (key.size !== info.keySize)
      throw new KdpError(
        BPF_ERR.codec,
        `${what}: the key codec is ${key.size} bytes, the map's key ${info.keySize}`,
      );
    if (value.size !== info.valueSize)
      throw new KdpError(
        BPF_ERR.codec,
        `${what}: the value codec is ${value.size} bytes, the map's value ${info.valueSize}`,
      );
    assertCodecMatchesBtf(key.shape, info.key, what, 'key');
    assertCodecMatchesBtf(value.shape, info.value, what, 'value');
    return info;
  }

  #missing(kind: string, name: string, all: readonly { name: string }[]): KdpError {
    return new KdpError(
      BPF_ERR.notFound,
      `no ${kind} "${name}" in ${this.path} (it has: ${all.map((x) => x.name).join(', ') || 'none'})`,
    );
  }
}

/** Any record as it came: a copy of its bytes. */
const rawRecord: Codec<Buffer> = { ...bytes(0), decode: (buf) => buf };
