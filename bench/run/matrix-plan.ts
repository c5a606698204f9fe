/**
 * The cells of a matrix: every selected combination, in a stable order, each with its id and, when
 * it cannot run here, why - a mode the host lacks (KDP_ERR_PROXY_MODE_UNAVAILABLE), a workload
 * that needs root run without it. Such cells stay in the results with their reason: a reader must
 * see that ipvs was not measured, not wonder where its column went.
 * Data cells: mode x backend x path x data workload. Control cells: control workload x variant,
 * times mode when the workload depends on it (mode "-" otherwise); backend and path are "-".
 */
import { describeError } from '../../dataplane/errors.ts';
import type { CellAxes } from '../lib/results.ts';
import type { ControlWorkload } from '../lib/workload.ts';
import type { MatrixSpec } from './spec.ts';
import { variantNeedsRoot } from '../workloads/control/index.ts';

export interface PlannedCell {
  id: string;
  axes: CellAxes;
  kind: 'data' | 'control';
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
}

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
  for (const mode of spec.modes) {
    for (const backend of spec.backends) {
      for (const path of spec.paths) {
        for (const workload of spec.dataWorkloads) {
          const axes: CellAxes = { mode, backend, path, workload };
          const skipped = problemOf(mode) ?? (ctx.root ? undefined : NEEDS_ROOT);
          cells.push({ id: cellId(axes), axes, kind: 'data', group: `${mode} ${backend}`, skipped });
        }
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
        cells.push({ id: cellId(axes), axes, kind: 'control', control, skipped });
      }
    }
  }
  return cells;
}
