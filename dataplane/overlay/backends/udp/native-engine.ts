/**
 * The udp backend's native engines behind the OverlayEngine contract: 'batched' (epoll threads,
 * recvmmsg/sendmmsg, TUN offloads, UDP GSO/GRO) and 'baseline' (flannel's one-packet-per-poll()
 * loop), both in the C++ addon (native/). The loop runs on native threads from the start; this
 * wrapper only passes the route table in, reads counters out and stops it.
 */
import { KdpError } from '../../../errors.ts';
import { loadOverlayAddon, type NativeEngineStatus } from './native-binding.ts';
import type { EngineCounters, EngineOptions, EngineRoute, OverlayEngine } from './engine.ts';

export interface NativeOverlayEngine extends OverlayEngine {
  /** Which offloads the kernel granted, and why the others are off (all false for 'baseline'). */
  status(): NativeEngineStatus;
}

/**
 * Starts a native engine in the calling thread's network namespace: it creates the TUN device
 * options.tunName (the caller configures its address, MTU and state) and binds options.localIp:port.
 * Throws KDP_ERR_NATIVE_MISSING when the addon is not built, KDP_ERR_NATIVE_ENGINE when the kernel
 * refuses the TUN or the socket (the message names the call and errno), TypeError on bad options.
 */
export function createNativeEngine(options: EngineOptions): NativeOverlayEngine {
  const addon = loadOverlayAddon();
  const mode = options.mode ?? 'batched';
  let handle;
  try {
    handle = addon.createEngine({
      tunName: options.tunName,
      localIp: options.localIp,
      port: options.port,
      mtu: options.mtu,
      localSubnet: options.localSubnet,
      mode,
      offload: options.offload ?? mode === 'batched',
    });
  } catch (err) {
    if (err instanceof TypeError) throw err;
    throw new KdpError(
      'KDP_ERR_NATIVE_ENGINE',
      `native ${mode} engine on ${options.tunName} / ${options.localIp}:${options.port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const engine = handle;
  let closed = false;
  return {
    kind: `native-${mode}`,
    setRoutes(routes: readonly EngineRoute[]) {
      if (closed) throw new KdpError('KDP_ERR_NATIVE_ENGINE', `native ${mode} engine: setRoutes after close`);
      engine.setRoutes(routes);
    },
    // Still answers after close, with the final values, so a backend can report them after stopping.
    counters: (): EngineCounters => engine.counters(),
    status: () => engine.status(),
    async close() {
      closed = true;
      engine.close();
    },
  };
}
