/**
 * Plans the EndpointSlice writes for one Service the way upstream's reconciler does, to keep
 * churn low (every slice write fans out to every kube-proxy):
 *   1. endpoints stay in the slice they are in; a slice is rewritten only when one of its
 *      endpoints changed or went away, or its labels changed;
 *   2. new endpoints first fill slices that are being rewritten anyway, then new slices of at
 *      most maxEndpointsPerSlice; a last, partial new slice moves into an unchanged slice with
 *      room instead, when one has it;
 *   3. a slice left empty is deleted, but a delete and a create are merged into an update;
 *   4. a Service without endpoints keeps one empty "placeholder" slice.
 * Slices owned by another (older) Service of the same name, or of another address type, go.
 */
import type { Endpoint, EndpointSlice, EndpointSlicePort, Service } from '../api/types.ts';
import {
  ENDPOINTSLICE_CONTROLLER_NAME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
} from '../api/types.ts';
import { canonicalEndpoint, type DesiredEndpoints, endpointKey, portsKey } from './endpointslice-desired.ts';
import { ownerRef } from './pods.ts';
import { isHeadless } from './services.ts';

export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

interface Working {
  slice: EndpointSlice;
  endpoints: Endpoint[];
  ports: EndpointSlicePort[];
}

/** The labels upstream gives a Service's slices: the Service's own plus the controller's. */
export function sliceLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  delete labels[LABEL_HEADLESS];
  labels[LABEL_SERVICE_NAME] = svc.metadata.name!;
  labels[LABEL_MANAGED_BY] = ENDPOINTSLICE_CONTROLLER_NAME;
  if (isHeadless(svc)) labels[LABEL_HEADLESS] = '';
  return labels;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a![k] === b[k]);
}

function newSlice(
  svc: Service,
  labels: Record<string, string>,
  ports: EndpointSlicePort[],
  endpoints: Endpoint[],
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata.name}-`,
      namespace: svc.metadata.namespace,
      labels: { ...labels },
      ownerReferences: [ownerRef(svc, 'v1', 'Service')],
    },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

/** `existing` in its place, with new endpoints, ports and labels (metadata otherwise kept). */
function rewritten(w: Working, labels: Record<string, string>): EndpointSlice {
  return {
    ...w.slice,
    metadata: { ...w.slice.metadata, labels: { ...labels } },
    endpoints: w.endpoints,
    ports: w.ports,
  };
}

export function planSlices(
  svc: Service,
  desired: DesiredEndpoints,
  existing: readonly EndpointSlice[],
  max: number,
): SlicePlan {
  const labels = sliceLabels(svc);
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const owned: EndpointSlice[] = [];
  for (const s of existing) {
    const ours =
      s.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid) && s.addressType === 'IPv4';
    (ours ? owned : plan.delete).push(s);
  }
  const foreign = new Set(plan.delete);
  const byPorts = new Map<string, EndpointSlice[]>();
  for (const s of owned) {
    const k = portsKey(s.ports);
    byPorts.set(k, [...(byPorts.get(k) ?? []), s]);
  }
  const toUpdate: Working[] = [];
  const emptied: EndpointSlice[] = [];
  const keys = new Set([...byPorts.keys(), ...desired.groups.keys()]);
  for (const pk of keys) {
    const group = desired.groups.get(pk);
    const remaining = new Map(group?.endpoints ?? []);
    const changed: Working[] = [];
    const unchanged: Working[] = [];
    for (const slice of byPorts.get(pk) ?? []) {
      const kept: Endpoint[] = [];
      let dirty = !sameLabels(slice.metadata.labels, labels);
      for (const ep of slice.endpoints ?? []) {
        const want = remaining.get(endpointKey(ep));
        if (!want) {
          dirty = true;
          continue;
        }
        remaining.delete(endpointKey(ep));
        if (canonicalEndpoint(want) !== canonicalEndpoint(ep)) dirty = true;
        kept.push(want);
      }
      const w: Working = { slice, endpoints: kept, ports: group?.ports ?? slice.ports ?? [] };
      if (!kept.length) emptied.push(slice);
      else (dirty ? changed : unchanged).push(w);
    }
    const rest = [...remaining.values()];
    // Fill the slices that are rewritten anyway, fullest first.
    changed.sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const w of changed) {
      while (rest.length && w.endpoints.length < max) w.endpoints.push(rest.shift()!);
    }
    const fresh: Endpoint[][] = [];
    for (let i = 0; i < rest.length; i += max) fresh.push(rest.slice(i, i + max));
    const last = fresh[fresh.length - 1];
    if (last && last.length < max) {
      // A partial new slice goes into the fullest unchanged slice that can take all of it.
      const host = unchanged
        .filter((w) => w.endpoints.length + last.length <= max)
        .sort((a, b) => b.endpoints.length - a.endpoints.length)[0];
      if (host) {
        host.endpoints.push(...fresh.pop()!);
        unchanged.splice(unchanged.indexOf(host), 1);
        changed.push(host);
      }
    }
    toUpdate.push(...changed);
    for (const eps of fresh) plan.create.push(newSlice(svc, labels, group!.ports, eps));
  }
  plan.update = toUpdate.map((w) => rewritten(w, labels));
  plan.delete.push(...emptied);

  const keptSlices = owned.length - emptied.length;
  if (keptSlices === 0 && plan.create.length === 0) {
    // No endpoints at all: keep (or make) one empty placeholder slice, as upstream.
    const placeholder = emptied.find((s) => !s.endpoints?.length && !s.ports?.length);
    if (placeholder) {
      plan.delete.splice(plan.delete.indexOf(placeholder), 1);
      if (!sameLabels(placeholder.metadata.labels, labels)) {
        plan.update.push(rewritten({ slice: placeholder, endpoints: [], ports: [] }, labels));
      }
    } else {
      plan.create.push(newSlice(svc, labels, [], []));
    }
  }

  // A slice to delete and one to create become one update of the former.
  for (let i = 0; i < plan.delete.length && plan.create.length;) {
    const old = plan.delete[i];
    if (foreign.has(old)) {
      i++;
      continue;
    }
    const c = plan.create.pop()!;
    plan.update.push(rewritten({ slice: old, endpoints: c.endpoints, ports: c.ports ?? [] }, labels));
    plan.delete.splice(i, 1);
  }
  return plan;
}
