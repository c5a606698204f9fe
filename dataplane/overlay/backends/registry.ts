/**
 * The overlay backends by name: the one list that `--overlay`, the agent's flags and the bench's
 * backend axis read. Kept apart from backend.ts (the interface), which the backends import, so
 * the backends and the list of them do not import each other.
 */
import { KdpError } from '../../errors.ts';
import type { OverlayBackend, OverlayBackendFactory, OverlayContext } from '../backend.ts';
import { createHostGwBackend } from './host-gw/host-gw.ts';
import { createUdpBackend, createUdpTsBackend } from './udp/udp.ts';
import { createVxlanBackend } from './vxlan/vxlan.ts';

const BACKENDS = new Map<string, OverlayBackendFactory>([
  ['host-gw', createHostGwBackend],
  ['vxlan', createVxlanBackend],
  ['udp', (ctx) => createUdpBackend(ctx)],
  ['udp-ts', (ctx) => createUdpTsBackend(ctx)],
]);

/** Names of the backends this build has, for help texts and errors. */
export function overlayBackendNames(): string[] {
  return [...BACKENDS.keys()].sort();
}

/** Adds a backend under a name (tests register fakes). */
export function registerOverlayBackend(name: string, factory: OverlayBackendFactory): void {
  if (BACKENDS.has(name))
    throw new KdpError('KDP_ERR_OVERLAY_DUPLICATE', `an overlay backend named "${name}" already exists`);
  BACKENDS.set(name, factory);
}

export function createOverlayBackend(name: string, ctx: OverlayContext): OverlayBackend {
  const factory = BACKENDS.get(name);
  if (!factory) {
    throw new KdpError(
      'KDP_ERR_OVERLAY_UNKNOWN',
      `no overlay backend "${name}": this build has ${overlayBackendNames().join(', ')}`,
    );
  }
  return factory(ctx);
}
