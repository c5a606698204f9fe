/**
 * A partial sync's write: only what changed, in one --noflush restore.
 *
 * - The service ports of the updated Services are rebuilt; those whose rules come out as
 *   programmed are skipped; the others have their own chains declared (emptied) and rewritten.
 * - Chains a service port no longer needs (a removed endpoint's KUBE-SEP, every chain of a removed
 *   service port) are declared and deleted with -X in the same transaction.
 * - Better than upstream, which rewrites KUBE-SERVICES (10k rules at 10k services) on every sync:
 *   each dispatch chain (nat KUBE-SERVICES / KUBE-NODEPORTS, filter KUBE-SERVICES /
 *   KUBE-EXTERNAL-SERVICES / KUBE-NODEPORTS) is rewritten only if some service port's lines in it
 *   changed. Those lines depend only on addresses, ports and whether endpoints exist, so an
 *   endpoint coming or going touches just that service's KUBE-SVC/KUBE-SEP chains.
 */
import { DISPATCH_CHAINS } from './dispatch-rules.ts';
import { restorePayload, type TableWrite } from './payload.ts';
import type { ProgrammedRules } from './programmed.ts';
import { sameLines } from './rule-text.ts';
import {
  buildServicePortRules,
  endpointsOf,
  sameServicePortRules,
  type ServicePortRules,
} from './service-rules.ts';
import type { SyncInput, SyncWrite } from './sync-input.ts';
import type { IptablesServicePort } from './iptables-model.ts';

/**
 * The service ports of the updated Services, found without walking all 10k: when the framework
 * knows as many service ports as at the last write and every programmed port of an updated
 * Service is still there, nothing was added anywhere (an update that adds a port either grows the
 * map or replaces a key, and a replaced key is missing), so the ports are the programmed ones.
 * Otherwise (a Service added, a port renamed) the whole map is scanned.
 */
export function updatedPorts(input: SyncInput, programmed: ProgrammedRules): IptablesServicePort[] {
  const { services, updatedServices } = input.state;
  const ports: IptablesServicePort[] = [];
  let known = services.size === programmed.servicesSize;
  for (const service of updatedServices) {
    if (!known) break;
    for (const key of programmed.keysOf(service)) {
      const svc = services.get(key);
      if (!svc) {
        known = false;
        break;
      }
      ports.push(svc);
    }
  }
  if (known) return ports;
  const all: IptablesServicePort[] = [];
  for (const svc of services.values())
    if (updatedServices.has(svc.service) && input.include(svc)) all.push(svc);
  return all;
}

/** Endpoints of all programmed service ports once `ports` are rewritten (for large-cluster mode). */
export function endpointTotalAfter(
  input: SyncInput,
  programmed: ProgrammedRules,
  ports: readonly IptablesServicePort[],
): number {
  let total = programmed.totals().endpoints;
  for (const service of input.state.updatedServices)
    for (const key of programmed.keysOf(service)) total -= programmed.get(key)!.endpoints;
  for (const svc of ports) total += input.state.endpoints.get(svc.key)?.length ?? 0;
  return total;
}

/** The write for `ports`, the service ports of the updated Services (see updatedPorts). */
export function planPartialSync(
  input: SyncInput,
  programmed: ProgrammedRules,
  ports: readonly IptablesServicePort[],
): SyncWrite {
  const { state, ctx } = input;
  const updated = state.updatedServices;
  const changed = new Map<string, ServicePortRules>();
  const present = new Set<string>();
  for (const svc of ports) {
    present.add(svc.key);
    const rules = buildServicePortRules(svc, endpointsOf(state.endpoints, svc.key), ctx);
    const old = programmed.get(svc.key);
    if (!old || !sameServicePortRules(old, rules)) changed.set(svc.key, rules);
  }
  const removed: string[] = [];
  for (const service of updated)
    for (const key of programmed.keysOf(service)) if (!present.has(key)) removed.push(key);

  // Chains of the changed service ports that are not needed any more, and all of the removed ones'.
  const remove: string[] = [];
  for (const [key, r] of changed) {
    const keep = new Set(r.chains);
    for (const c of programmed.get(key)?.chains ?? []) if (!keep.has(c)) remove.push(c);
  }
  for (const key of removed) remove.push(...programmed.get(key)!.chains);

  const tailChanged = !sameLines(programmed.tail, input.tail);
  const dispatch = DISPATCH_CHAINS.filter(
    ({ part }) =>
      (part === 'natServices' && tailChanged) ||
      [...changed.values()].some(
        (r) => !sameLines(r.dispatch[part], programmed.get(r.key)?.dispatch[part] ?? []),
      ) ||
      removed.some((key) => programmed.get(key)!.dispatch[part].length > 0),
  );

  let keys: readonly string[] = programmed.sortedKeys();
  const added = [...changed.keys()].filter((k) => !programmed.get(k));
  if (dispatch.length > 0 && (added.length > 0 || removed.length > 0)) {
    const gone = new Set(removed);
    keys = [...keys.filter((k) => !gone.has(k)), ...added].sort();
  }

  const filter: TableWrite & { declare: string[]; rules: string[][] } = { declare: [], rules: [] };
  const nat: TableWrite & { declare: string[]; rules: (readonly string[])[] } = {
    declare: [],
    rules: [],
    remove,
  };
  for (const d of dispatch) {
    const t = d.table === 'nat' ? nat : filter;
    t.declare.push(d.chain);
    t.rules.push(programmed.linesOf(d.part, keys, changed));
    if (d.part === 'natServices') t.rules.push(input.tail);
  }
  for (const r of changed.values()) {
    nat.declare.push(...r.chains);
    nat.rules.push(r.chainRules);
  }

  return {
    kind: 'partial',
    payload: restorePayload({ filter, nat }),
    written: changed.size,
    removed: remove.length,
    dispatch: dispatch.map((d) => `${d.table} ${d.chain}`),
    commit() {
      for (const r of changed.values()) programmed.set(r);
      for (const key of removed) programmed.delete(key);
      programmed.tail = input.tail;
      programmed.servicesSize = state.services.size;
    },
  };
}
