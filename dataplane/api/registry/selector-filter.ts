/**
 * Label and field selectors as the registry applies them: compiled once into a predicate (a
 * malformed selector is 400 BadRequest), and what a watcher with a selector sees of a store event:
 * an object that starts matching is ADDED, one that stops matching is DELETED, as upstream.
 */
import { badRequest } from '../errors.ts';
import type { ResourceInfo } from '../resources.ts';
import {
  type FieldRequirement,
  type Requirement,
  matchFields,
  matchRequirements,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from '../selectors.ts';
import type { StoreEvent } from '../store/store.ts';
import type { KubeObject, WatchEvent } from '../types.ts';

export type ObjectFilter = (o: KubeObject) => boolean;

/** The selectors as one predicate; undefined when neither selects anything. */
export function compileSelectors(
  info: ResourceInfo,
  labelSelector?: string,
  fieldSelector?: string,
): ObjectFilter | undefined {
  let labels: Requirement[];
  let fields: FieldRequirement[];
  try {
    labels = parseLabelSelector(labelSelector);
    fields = parseFieldSelector(fieldSelector, info.fieldSelectors);
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(`unable to parse requirement: ${e.message}`);
    throw e;
  }
  if (!labels.length && !fields.length) return undefined;
  return (o) => matchRequirements(labels, o.metadata.labels) && matchFields(fields, o);
}

/** The event a watcher with `filter` is sent for a store event, or undefined for none. */
export function filteredWatchEvent(filter: ObjectFilter | undefined, ev: StoreEvent): WatchEvent | undefined {
  if (!filter) return { type: ev.type, object: ev.object };
  const now = ev.type !== 'DELETED' && filter(ev.object);
  const before = ev.prev !== undefined && filter(ev.prev);
  if (ev.type === 'ADDED') return now ? { type: 'ADDED', object: ev.object } : undefined;
  if (ev.type === 'DELETED') return before ? { type: 'DELETED', object: ev.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: ev.object };
  if (now) return { type: 'ADDED', object: ev.object };
  if (before) return { type: 'DELETED', object: ev.object };
  return undefined;
}
