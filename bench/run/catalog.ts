/**
 * What this build can benchmark, read from the registries at run time so that a proxy mode or an
 * overlay backend appears in the matrix the moment it is registered: proxy modes (runnable here or
 * not: the plan skips those the host lacks, with the reason), overlay backends plus their engine
 * variants ("udp:baseline": the udp backend with flannel's one-packet-per-poll engine), the data
 * paths, and the data and control workloads.
 */
import { overlayBackendNames } from '../../dataplane/overlay/backends/registry.ts';
import { OVERLAY_ENGINES } from '../../dataplane/overlay/options.ts';
import { proxyModeNames } from '../../dataplane/proxy/modes.ts';
import { dataWorkloadNames, scalingWorkloadNames } from '../workloads/data/index.ts';
import { readHostLimits } from './services-axis.ts';
import { DATA_PATHS } from '../workloads/data/world.ts';
import type { ControlWorkload } from '../lib/workload.ts';
import type { Catalog } from './spec.ts';

/**
 * The backend axis: each registered backend (with its default engine), then its other engines as
 * "<backend>:<engine>" (OVERLAY_ENGINES lists the default first: udp's batched, then baseline).
 */
export function backendAxis(
  registered: readonly string[] = overlayBackendNames(),
  engines: Readonly<Record<string, readonly string[]>> = OVERLAY_ENGINES,
): string[] {
  return registered.flatMap((b) => [b, ...(engines[b] ?? []).slice(1).map((e) => `${b}:${e}`)]);
}

/** `control`: CONTROL_WORKLOADS (bench/workloads/control/), given by the caller. */
export function buildCatalog(control: readonly ControlWorkload[]): Catalog {
  return {
    modes: proxyModeNames(),
    backends: backendAxis(),
    paths: [...DATA_PATHS],
    dataWorkloads: dataWorkloadNames(),
    controlWorkloads: control.map((w) => w.name),
    scalingWorkloads: scalingWorkloadNames(),
    host: readHostLimits(),
  };
}
