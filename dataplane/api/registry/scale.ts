/**
 * The scale subresource (autoscaling/v1 Scale) of apps/v1 Deployments and ReplicaSets: the Scale
 * view of a workload and the checked replica count a Scale update or patch asks for. The registry
 * (generic-registry.ts) writes the result as an ordinary update of the workload.
 */
import { invalid } from '../errors.ts';
import type { KubeObject } from '../types.ts';
import { applyPatch, type PatchType } from './patch.ts';
import { toScale } from './registry-helpers.ts';

export { toScale };

/**
 * The workload `cur` with the replicas a Scale body (or a patch of its Scale view) asks for, and
 * the resourceVersion the Scale carried (else the workload's own); 422 for a bad replica count.
 */
export function scaledWorkload(cur: KubeObject, body: unknown, patchType?: PatchType): KubeObject {
  const name = cur.metadata.name!;
  let scale = body as KubeObject;
  if (patchType) scale = applyPatch(patchType, toScale(cur), body, 'Scale') as KubeObject;
  const replicas = (scale?.spec as { replicas?: unknown } | undefined)?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid(
      'Scale',
      name,
      [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ],
      'autoscaling',
    );
  }
  const next = structuredClone(cur);
  (next.spec as { replicas?: number }).replicas = replicas;
  const rv = scale.metadata?.resourceVersion;
  next.metadata.resourceVersion = rv || cur.metadata.resourceVersion;
  return next;
}
