/**
 * The cells of a matrix: every selected combination, in a stable order, each with its id and, when
 * it cannot run here, why - a mode the host lacks (KDP_ERR_PROXY_MODE_UNAVAILABLE), a workload
 * that needs root run without it. Such cells stay in the results with their reason: a reader must
 * see that ipvs was not measured, not wonder where its column went.
 * Data cells: mode x backend x path x data workload, and for the new-connection workloads x
 * background-Services size (params.services, once the axis is on: sizes other than [0]); the other
 * data workloads run at the first size. With the axis on, each (mode, backend) also gets one
 * "background-services" cell per size above 0, holding how long the cluster took to program them.
 * Control cells: control workload x variant, times mode when the workload depends on it (mode "-"
 * otherwise); backend and path are "-".
 */
import { describeError } from '../../dataplane/errors.ts';
import type { CellAxes } from '../lib/results.ts';
import type { ControlWorkload } from '../lib/workload.ts';
import type { MatrixSpec } from './spec.ts';
import { variantNeedsRoot } from '../workloads/control/index.ts';

export interface PlannedCell {
  id: string;
  axes: CellAxes;
  kind: 'data' | 'control' | 'background';
  /** Background Services the cell runs with (data and background cells); 0 otherwise. */
  services: number;
  /** Set when the cell will not run: the reason. */
  skipped?: string;
  /** Data cells: the cluster they share, "<mode> <backend>". */
  group?: string;
  control?: ControlWorkload;
}

export interface PlanContext {
  /** Throws when the mode cannot run on this host (checkProxyMode). */
  checkMode(mode: string): void;
  /** Whether root-only work may run (namespaces, iptables). */
  root: boolean;
  controlWorkloads: readonly ControlWorkload[];
  /** Data workloads that repeat at every background-Services size. */
  scalingWorkloads?: readonly string[];
}

/** The workload name of the cells that record a size's set-up (create and sync of the background). */
export const BACKGROUND_WORKLOAD = 'background-services';

/** mode/backend/path/workload[/k=v...], the key compare matches cells by. */
export function cellId(axes: CellAxes): string {
  const params = Object.entries(axes.params ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `/${k}=${v}`);
  return `${axes.mode}/${axes.backend}/${axes.path}/${axes.workload}${params.join('')}`;
}

export const NEEDS_ROOT = 'needs root (network namespaces, iptables): run kdp bench as root';

export function planCells(spec: MatrixSpec, ctx: PlanContext): PlannedCell[] {
  const modeProblem = new Map<string, string | undefined>();
  const problemOf = (mode: string) => {
    if (!modeProblem.has(mode)) {
      try {
        ctx.checkMode(mode);
        modeProblem.set(mode, undefined);
      } catch (e) {
        modeProblem.set(mode, describeError(e));
      }
    }
    return modeProblem.get(mode);
  };
  const cells: PlannedCell[] = [];
  const sizes = spec.services?.length ? spec.services : [0];
  const scales = (workload: string) => ctx.scalingWorkloads?.includes(workload) ?? false;
  // The axis is on when some cell runs with background Services: sizes beyond [0] and a
  // new-connection workload selected, or a first size above 0.
  const axisOn = sizes[0] !== 0 || (sizes.length > 1 && spec.dataWorkloads.some(scales));
  const withSize = (axes: CellAxes, n: number): CellAxes =>
    axisOn ? { ...axes, params: { ...axes.params, services: n } } : axes;
  for (const mode of spec.modes) {
    for (const backend of spec.backends) {
      const group = `${mode} ${backend}`;
      const skipped = problemOf(mode) ?? (ctx.root ? undefined : NEEDS_ROOT);
      const used = new Set<number>();
      for (const path of spec.paths) {
        for (const workload of spec.dataWorkloads) {
          for (const n of scales(workload) ? sizes : sizes.slice(0, 1)) {
            const axes = withSize({ mode, backend, path, workload }, n);
            cells.push({ id: cellId(axes), axes, kind: 'data', group, skipped, services: n });
            used.add(n);
          }
        }
      }
      if (!axisOn) continue;
      for (const n of sizes.filter((size) => size > 0 && used.has(size))) {
        const axes = withSize({ mode, backend, path: '-', workload: BACKGROUND_WORKLOAD }, n);
        cells.push({ id: cellId(axes), axes, kind: 'background', group, skipped, services: n });
      }
    }
  }
  for (const name of spec.controlWorkloads) {
    const control = ctx.controlWorkloads.find((w) => w.name === name);
    if (!control) continue;
    const modes = control.modeDependent ? spec.modes : ['-'];
    for (const mode of modes) {
      for (const params of control.variants(spec.quick)) {
        const axes: CellAxes = { mode, backend: '-', path: '-', workload: name };
        if (Object.keys(params).length > 0) axes.params = params;
        const modeSkip = mode === '-' ? undefined : problemOf(mode);
        const rootSkip = variantNeedsRoot(control, params) && !ctx.root ? NEEDS_ROOT : undefined;
        const skipped = modeSkip ?? control.unavailable?.() ?? rootSkip;
        cells.push({ id: cellId(axes), axes, kind: 'control', control, skipped, services: 0 });
      }
    }
  }
  return cells;
}
