/**
 * The udp overlay's native module (native/overlay/, binding.gyp target kdp_overlay) with its few
 * functions typed: openTun, createEngine, and the engines' packet functions without I/O for tests
 * and instruction counts. Loaded lazily through the generic loader (native/loader.ts), so host-gw,
 * vxlan and the TypeScript engine work on a checkout that was never built.
 */
import { loadNativeModule, loadNativeModuleAt, nativeModulePath } from '../../../native/loader.ts';
import type { EngineCounters, EngineRoute, NativeEngineMode } from './engine.ts';

/** The binding.gyp target of the overlay's module. */
export const OVERLAY_MODULE = 'kdp_overlay';

/** Path of the built module. */
export const OVERLAY_ADDON_PATH = nativeModulePath(OVERLAY_MODULE);

export interface OpenTunOptions {
  /** IFF_VNET_HDR: every read and write carries a 10-byte struct virtio_net_hdr first. */
  vnetHdr: boolean;
  /** IFF_MULTI_QUEUE: several fds may attach to the same device. */
  multiQueue?: boolean;
}

/** What createEngine takes: EngineOptions with the defaults resolved. */
export interface NativeEngineOptions {
  tunName: string;
  localIp: string;
  port: number;
  mtu: number;
  localSubnet: string;
  mode: NativeEngineMode;
  offload: boolean;
}

/** Where a running engine stands, beyond the counters: which kernel features it could use. */
export interface NativeEngineStatus {
  /** TUNSETOFFLOAD took TUN_F_CSUM|TUN_F_TSO4 (the kernel hands over TCP super-packets). */
  tunOffload: boolean;
  /** UDP_SEGMENT sends are in use. */
  udpGso: boolean;
  /** UDP_GRO receives are in use. */
  udpGro: boolean;
  /** Why a requested offload is off, one line each ("TUNSETOFFLOAD: EINVAL (...)"), empty when all is on. */
  fallbacks: string[];
}

/** A running engine in the native addon; its loop runs on native threads. */
export interface NativeEngineHandle {
  setRoutes(routes: readonly EngineRoute[]): void;
  /** Also after close: the final values. */
  counters(): EngineCounters;
  status(): NativeEngineStatus;
  /** Wakes the threads, joins them, closes the TUN and the socket. Safe to call twice. */
  close(): void;
}

/** One packet given to engineProcess: an IPv4 packet, with the sending node's address for 'udp'. */
export interface EngineProcessPacket {
  data: Buffer;
  /** 'udp' direction: the underlay source address of the datagram. */
  src?: string;
  /** 'udp' direction: the datagram was a UDP_GRO buffer of segments this long (0 or absent: one packet). */
  gsoSize?: number;
}

export interface EngineProcessInput {
  /** 'tun': packets read from the TUN, to encapsulate; 'udp': datagram payloads, to write to the TUN. */
  direction: 'tun' | 'udp';
  packets: readonly EngineProcessPacket[];
  routes: readonly EngineRoute[];
  localIp: string;
  localSubnet: string;
  mtu: number;
  /**
   * Run the offload path: for 'tun', each packet starts with a virtio_net_hdr and GSO packets are
   * segmented; for 'udp', in-order TCP segments of a flow are coalesced and every TUN output starts
   * with a virtio_net_hdr.
   */
  offload?: boolean;
}

export type EngineProcessOutput =
  | { kind: 'udp'; dst: string; data: Buffer }
  | { kind: 'tun'; data: Buffer }
  | { kind: 'drop'; reason: string };

export interface OverlayAddon {
  /** A TUN device (IFF_TUN|IFF_NO_PI[|IFF_VNET_HDR]) in the calling thread's netns; returns its fd (non-blocking, close-on-exec). */
  openTun(name: string, options: OpenTunOptions): number;
  createEngine(options: NativeEngineOptions): NativeEngineHandle;
  /** The engine's packet functions without I/O: the outputs for the given packets, in order. */
  engineProcess(input: EngineProcessInput): EngineProcessOutput[];
  /**
   * The same packet functions over the same batch `rounds` times, all in native code (the packets
   * copied afresh each round): for instruction counts of the loop's work without N-API per packet.
   * Counts over all rounds; `checksum` only keeps the outputs from being optimised away.
   */
  engineBench(
    input: EngineProcessInput,
    rounds: number,
  ): { forwarded: number; dropped: number; checksum: number };
}

/** The module, loaded on first call; KDP_ERR_NATIVE_MISSING when it was never built. */
export function loadOverlayAddon(): OverlayAddon {
  return loadNativeModule<OverlayAddon>(OVERLAY_MODULE);
}

/** Loads the module from `path` (tests point it elsewhere to see the missing-build error). */
export function loadOverlayAddonAt(path: string): OverlayAddon {
  return loadNativeModuleAt<OverlayAddon>(path);
}

/** openTun from the module (see OverlayAddon.openTun). */
export function openTun(name: string, options: OpenTunOptions): number {
  return loadOverlayAddon().openTun(name, options);
}
