/**
 * The compliance suite in one import: every case, the runner, the topology and the contract a
 * mode's harness implements. A mode's test file runs `ALL_CASES` x `VARIANTS` through `runCase`.
 */
import { CLUSTER_IP_CASES } from './cases-cluster-ip.ts';
import { EXTERNAL_CASES } from './cases-external.ts';
import type { ComplianceCase } from './types.ts';

export const ALL_CASES: readonly ComplianceCase[] = [...CLUSTER_IP_CASES, ...EXTERNAL_CASES];

export { runCase, supports, VARIANTS, checkFlow, ClusterFeed, envOf, type Variant } from './run-case.ts';
export * from './case-topology.ts';
export type * from './types.ts';
