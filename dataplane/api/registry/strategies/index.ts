/** STUB (contract): the strategy of every kind, keyed by group-resource. To be completed. */
import type { Strategy } from '../strategy.ts';

export function createStrategies(): Record<string, Strategy> {
  return {};
}
