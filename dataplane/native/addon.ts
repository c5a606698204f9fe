/**
 * Loads kdp's native addon (native/, built by binding.gyp into build/Release/kdp_native.node) and
 * gives its few functions TypeScript types. Loading is lazy: code paths that never touch the native
 * engine (host-gw, vxlan, the TypeScript engine's tests) work on a checkout that was never built,
 * and the first use on such a checkout fails with KDP_ERR_NATIVE_MISSING saying what to run.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../errors.ts';
import type { EngineCounters, EngineRoute, NativeEngineMode } from '../overlay/backends/udp/engine.ts';

/** Path of the built addon: the repo root's build/Release, two folders up from this file. */
export const NATIVE_ADDON_PATH = fileURLToPath(
  new URL('../../build/Release/kdp_native.node', import.meta.url),
);

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

export interface NativeAddon {
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

let loaded: NativeAddon | undefined;

/** The addon, loaded on first call; KDP_ERR_NATIVE_MISSING when it was never built. */
export function loadNativeAddon(): NativeAddon {
  loaded ??= loadNativeAddonAt(NATIVE_ADDON_PATH);
  return loaded;
}

/** Loads the addon from `path` (tests point it elsewhere to see the missing-build error). */
export function loadNativeAddonAt(path: string): NativeAddon {
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeAddon;
  } catch (err) {
    throw new KdpError(
      'KDP_ERR_NATIVE_MISSING',
      `the native addon ${path} could not be loaded: run scripts/setup.sh to build it`,
      { cause: err },
    );
  }
}

/** openTun from the addon (see NativeAddon.openTun). */
export function openTun(name: string, options: OpenTunOptions): number {
  return loadNativeAddon().openTun(name, options);
}
