/**
 * Loads the kdp_ebpf addon (native/ebpf/, libbpf linked; built by binding.gyp into
 * build/Release/kdp_ebpf.node) and types its surface. Lazy, through dataplane/native/loader.ts: code
 * that never touches eBPF works on a checkout without the build, and the first use there fails
 * with KDP_ERR_NATIVE_MISSING saying what to run. The BPF objects kdp ships (native/bpf/*.bpf.c)
 * are compiled by scripts/build-bpf.sh into build/bpf/.
 */
import { fileURLToPath } from 'node:url';
import { loadNativeModule } from '../native/loader.ts';

/** The binding.gyp target of the eBPF module (libbpf linked). */
export const EBPF_MODULE = 'kdp_ebpf';

/** Where scripts/build-bpf.sh puts kdp's own compiled BPF objects. */
export const BPF_OBJECT_DIR = fileURLToPath(new URL('../../build/bpf/', import.meta.url));

/** A BTF type as the addon describes it (typedefs and qualifiers looked through). */
export interface BtfType {
  kind: 'int' | 'ptr' | 'array' | 'struct' | 'union' | 'enum' | 'fwd' | 'float' | 'other';
  name?: string;
  typedef?: string;
  size: number;
  signed?: boolean;
  count?: number;
  elem?: BtfType;
  members?: BtfMember[];
}

export interface BtfMember {
  name: string;
  /** Bytes from the start of the struct. */
  offset: number;
  bitOffset: number;
  /** Non-zero for a bitfield. */
  bitSize: number;
  type: BtfType;
}

export interface NativeProgramInfo {
  name: string;
  section: string;
  /** enum bpf_prog_type */
  type: number;
  expectedAttachType: number;
}

export interface NativeMapInfo {
  name: string;
  /** enum bpf_map_type */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** libbpf's own maps for global data (.bss, .data, .rodata). */
  internal: boolean;
  key?: BtfType;
  value?: BtfType;
}

export interface NativeBpfObject {
  programs(): NativeProgramInfo[];
  maps(): NativeMapInfo[];
  /** Throws an Error with `log` (libbpf's and the verifier's messages) when the kernel refuses. */
  load(): void;
  programFd(name: string): number | undefined;
  mapFd(name: string): number | undefined;
  /** Closes every program and map fd of the object. Idempotent. */
  close(): void;
}

export interface NativeRingBuffer {
  poll(timeoutMs: number): Promise<Buffer[]>;
  close(): void;
}

export interface EbpfAddon {
  BpfObject: new (path: string) => NativeBpfObject;
  RingBuffer: new (mapFd: number) => NativeRingBuffer;
  numPossibleCpus(): number;
  probeProgType(type: number): number;
  probeMapType(type: number): number;
  mapLookup(fd: number, key: Buffer, value: Buffer, flags: number): boolean;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, next: Buffer): boolean;
  mapLookupBatch(
    fd: number,
    inBatch: Buffer | null,
    outBatch: Buffer,
    keys: Buffer,
    values: Buffer,
    count: number,
  ): { count: number; done: boolean };
  mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags: number): number;
  mapDeleteBatch(fd: number, keys: Buffer, count: number): number;
  progTestRun(
    fd: number,
    data: Buffer,
    dataOutSize: number,
    repeat: number,
    ctx: Buffer | null,
  ): { retval: number; duration: number; data: Buffer };
  attachNetdev(progFd: number, netns: string, ifname: string, attachType: number, xdpFlags: number): number;
  attachTcLegacy(
    progFd: number,
    netns: string,
    ifname: string,
    direction: 'ingress' | 'egress',
  ): { ifindex: number; handle: number; priority: number };
  detachTcLegacy(
    netns: string,
    ifindex: number,
    direction: 'ingress' | 'egress',
    handle: number,
    priority: number,
  ): void;
  attachCgroup(progFd: number, cgroupPath: string, attachType: number): number;
  linkInfo(fd: number): { id: number; type: number; progId: number };
  closeFd(fd: number): void;
}

/** The module, loaded on first use (KDP_ERR_NATIVE_MISSING when scripts/setup.sh never built it). */
export function loadEbpfAddon(): EbpfAddon {
  return loadNativeModule<EbpfAddon>(EBPF_MODULE);
}
