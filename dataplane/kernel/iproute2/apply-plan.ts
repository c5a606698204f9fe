/**
 * NetworkOps over iproute2: a whole plan in as few processes as its dependencies allow. All
 * namespaces are created by one `ip -batch -`; then, stage by stage, each namespace's ops run as
 * one `ip -batch -` inside it (and its sysctls as one short shell), the namespaces of a stage
 * spread over a few concurrent lane shells (lanes.ts). Figures are in ../README.md.
 *
 * Not atomic: a failure stops that namespace's group at the failing line, lets the other groups
 * of the stage finish, and throws the first failure (details.failures counts them all); what
 * was done stays done. Callers that build a cluster tear it down by deleting its namespaces.
 */
import { availableParallelism } from 'node:os';
import { checkOp, sysctlPath } from '../check.ts';
import { KdpError } from '../../errors.ts';
import { classifyKernelMessage, kernelError } from '../errors.ts';
import type { NetworkOps } from '../interfaces.ts';
import { assertKdpNamespace } from '../name-checks.ts';
import { stagePlan, toolRuns, type NetworkPlan, type PlanStage } from '../network-plan.ts';
import type { ApplyOptions, ApplyReport, NetOp } from '../types.ts';
import { describeOp } from './commands.ts';
import { laneFailures, laneScript, sysctlFailure, type LaneGroup } from './lanes.ts';
import type { Iproute2Netns } from './netns.ts';
import { failedBatchLines, kernelMessage, runCommand, toKernelError } from './run-command.ts';
import { keyOfPath } from './sysctl.ts';

/** The KdpError for a failed run of a group, pointing at the op the tool refused. */
function runError(group: LaneGroup, run: NetOp[], stderr: string) {
  let op = run[0];
  let message: string;
  if (op.kind === 'sysctl.set') {
    const failed = sysctlFailure(stderr);
    const key = failed.path ? keyOfPath(failed.path) : undefined;
    op = run.find((o) => o.kind === 'sysctl.set' && o.key === key) ?? op;
    message = failed.message;
  } else {
    const line = failedBatchLines(stderr)[0];
    if (line !== undefined) op = run[Math.min(line, run.length) - 1];
    message = kernelMessage(stderr);
  }
  message ||= 'failed without a message';
  return kernelError(classifyKernelMessage(message), message, {
    namespace: group.ns,
    operation: describeOp(op),
  });
}

/** The first failure of a stage, saying how many there were in all. */
function withFailureCount(first: unknown, total: number): unknown {
  if (total <= 1 || !(first instanceof KdpError)) return first;
  return new KdpError(first.code, `${first.message} (and ${total - 1} more failures in this stage)`, {
    cause: first.cause,
    details: { ...first.details, failures: total },
  });
}

export class Iproute2NetworkOps implements NetworkOps {
  constructor(
    private readonly prefix: string,
    private readonly netns: Iproute2Netns,
  ) {}

  async apply(plan: NetworkPlan, options: ApplyOptions = {}): Promise<ApplyReport> {
    // Everything is checked before anything is touched.
    for (const ns of plan.namespaces) assertKdpNamespace(ns, this.prefix, `ip netns add ${ns}`);
    const sysctlPaths = new Map<NetOp, string>();
    for (const op of plan.ops) {
      checkOp(op, this.prefix, describeOp(op));
      if (op.kind === 'sysctl.set') sysctlPaths.set(op, sysctlPath(op.key, describeOp(op), op.ns));
    }

    const report: ApplyReport = { namespacesCreated: 0, operations: plan.ops.length, stages: 0, batches: 0 };
    if (plan.namespaces.length > 0) {
      await this.netns.createMany(plan.namespaces, { signal: options.signal });
      report.namespacesCreated = plan.namespaces.length;
      report.batches++;
    }
    const lanes = options.concurrency ?? Math.max(2, availableParallelism());
    for (const stage of stagePlan(plan)) {
      report.stages++;
      report.batches += await this.runStage(stage, lanes, sysctlPaths, options.signal);
    }
    return report;
  }

  /** Runs a stage over at most `lanes` shells; returns the number of runs (processes in namespaces). */
  private async runStage(
    stage: PlanStage,
    lanes: number,
    sysctlPaths: Map<NetOp, string>,
    signal?: AbortSignal,
  ) {
    const groups: LaneGroup[] = stage.map((g, id) => ({ id, ns: g.ns, runs: toolRuns(g.ops), sysctlPaths }));
    const byLane: LaneGroup[][] = Array.from({ length: Math.min(lanes, groups.length) }, () => []);
    groups.forEach((g, i) => byLane[i % byLane.length].push(g));
    // Keyed by group so that "the first failure" is the plan's first, whichever lane finished first.
    const errors: { at: number; error: unknown }[] = [];
    await Promise.all(
      byLane.map(async (laneGroups) => {
        try {
          // The default 30 s would cut a long lane short; ~5 ms per group is typical.
          const timeoutMs = 60_000 + 100 * laneGroups.length;
          const { stderr } = await runCommand(['sh', '-s'], {
            input: laneScript(laneGroups),
            signal,
            timeoutMs,
          });
          for (const f of laneFailures(stderr)) {
            const group = groups[f.group];
            errors.push({ at: f.group, error: runError(group, group.runs[f.run], f.stderr) });
          }
        } catch (e) {
          const operation = `sh -s (lane of ${laneGroups.length} namespaces)`;
          errors.push({ at: laneGroups[0].id, error: toKernelError(e, { operation }) });
        }
      }),
    );
    if (errors.length > 0) {
      errors.sort((x, y) => x.at - y.at);
      throw withFailureCount(errors[0].error, errors.length);
    }
    return groups.reduce((n, g) => n + g.runs.length, 0);
  }
}
