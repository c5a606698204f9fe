/**
 * What the full and the partial sync planners take and give back: the sync's state and rule
 * settings in; the restore payload to run and how to record it as programmed once it ran.
 * Planning is pure (no kernel calls), so the proxier decides when to write and what a failure
 * means, and tests can read a plan without running it.
 */
import type { SyncState } from '../proxier-contract.ts';
import type { IptablesEndpoint, IptablesServicePort } from './iptables-model.ts';
import type { RestorePayload } from './payload.ts';
import type { RuleContext } from './rule-text.ts';

export interface SyncInput {
  state: SyncState<IptablesServicePort, IptablesEndpoint>;
  ctx: RuleContext;
  /** The last rules of nat KUBE-SERVICES (node ports), for this node's addresses. */
  tail: readonly string[];
  /** Whether a service port is programmed at all (SCTP ones only when the kernel has SCTP). */
  include: (svc: IptablesServicePort) => boolean;
}

export interface SyncWrite {
  /** full: nat and filter rebuilt by a restore without --noflush; partial: a --noflush restore. */
  kind: 'full' | 'partial';
  /** Undefined when nothing in the kernel needs to change. */
  payload?: RestorePayload;
  /** Service ports whose rules were (re)written. */
  written: number;
  /** Per-service chains deleted. */
  removed: number;
  /** Dispatch chains rewritten, as 'table CHAIN'. */
  dispatch: string[];
  /** Records the write in ProgrammedRules; call only after the restore succeeded. */
  commit(): void;
}
