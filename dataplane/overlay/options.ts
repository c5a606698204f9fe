/**
 * Backend options chosen per cluster, checked in one place for the agent's flags, the topology and
 * `kdp up`: today only the udp backend's engine (`--overlay-engine`): native batched with the TUN
 * and UDP offloads (default), the same batched loop without them (what the offloads buy, measured
 * in one run), or the flannel-like baseline that moves one packet per syscall.
 */
import { KdpError } from '../errors.ts';

/** Engines by backend; a backend missing here takes no engine option. */
export const OVERLAY_ENGINES: Readonly<Record<string, readonly string[]>> = {
  udp: ['batched', 'baseline', 'batched-no-offload'],
};

/** The backend options an engine name stands for, where it is not just { engine }. */
const ENGINE_OPTIONS: Readonly<Record<string, Record<string, string>>> = {
  'batched-no-offload': { engine: 'batched', offload: 'false' },
};

/** "a", "a or b", "a, b or c". */
function oneOf(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** Why `engine` does not go with `backend`, or undefined when it does (or is not given). */
export function overlayEngineProblem(backend: string, engine: string | undefined): string | undefined {
  if (engine === undefined) return undefined;
  const engines = OVERLAY_ENGINES[backend];
  if (!engines) {
    const takers = Object.keys(OVERLAY_ENGINES).join(', ');
    return `the ${backend} backend has no engine option (only ${takers} does)`;
  }
  if (!engines.includes(engine))
    return `the ${backend} backend's engine must be ${oneOf(engines)}, got "${engine}"`;
  return undefined;
}

/** The OverlayContext options for `backend` with `engine`; throws KDP_ERR_OVERLAY_OPTION when they do not go together. */
export function overlayOptions(
  backend: string,
  engine: string | undefined,
): Record<string, string> | undefined {
  const problem = overlayEngineProblem(backend, engine);
  if (problem) throw new KdpError('KDP_ERR_OVERLAY_OPTION', problem);
  if (engine === undefined) return undefined;
  return ENGINE_OPTIONS[engine] ?? { engine };
}
