/**
 * The columns `kubectl get` shows for deployments, replicasets and events (see table-columns.ts
 * for the core kinds and the helpers).
 */
import type { Deployment, Event, ReplicaSet } from '../types.ts';
import { AGE, age, col, type KindPrinter, NAME, wide } from './table-columns.ts';

function containerColumns(spec: {
  template?: { spec?: { containers?: { name: string; image?: string }[] } };
}) {
  const cs = spec.template?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}

function selectorString(
  sel: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined,
): string {
  const terms = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of (sel?.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]) {
    if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
    else terms.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
  }
  return terms.length ? terms.join(',') : '<none>';
}

export const deployments: KindPrinter = {
  columns: [
    NAME,
    col('Ready', 'Ready replicas out of desired replicas.'),
    col('Up-to-date', 'Replicas updated to the latest pod template.', { type: 'integer' }),
    col('Available', 'Replicas available to users.', { type: 'integer' }),
    AGE,
    wide(col('Containers', 'Names of the containers in the pod template.')),
    wide(col('Images', 'Images of the containers in the pod template.')),
    wide(col('Selector', 'The label selector of the pods.')),
  ],
  cells(obj, now) {
    const d = obj as Deployment;
    const st = d.status ?? {};
    return [
      d.metadata.name,
      `${st.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`,
      st.updatedReplicas ?? 0,
      st.availableReplicas ?? 0,
      age(d.metadata.creationTimestamp, now),
      ...containerColumns(d.spec),
      selectorString(d.spec.selector),
    ];
  },
};

export const replicasets: KindPrinter = {
  columns: [
    NAME,
    col('Desired', 'Desired number of replicas.', { type: 'integer' }),
    col('Current', 'Current number of replicas.', { type: 'integer' }),
    col('Ready', 'Number of ready replicas.', { type: 'integer' }),
    AGE,
    wide(col('Containers', 'Names of the containers in the pod template.')),
    wide(col('Images', 'Images of the containers in the pod template.')),
    wide(col('Selector', 'The label selector of the pods.')),
  ],
  cells(obj, now) {
    const rs = obj as ReplicaSet;
    const st = rs.status ?? {};
    return [
      rs.metadata.name,
      rs.spec.replicas ?? 1,
      st.replicas ?? 0,
      st.readyReplicas ?? 0,
      age(rs.metadata.creationTimestamp, now),
      ...containerColumns(rs.spec),
      selectorString(rs.spec.selector),
    ];
  },
};

export const events: KindPrinter = {
  columns: [
    col('Last Seen', 'Time since the event was last seen.'),
    col('Type', 'Normal or Warning.'),
    col('Reason', 'Why the event happened, in CamelCase.'),
    col('Object', 'The object the event is about.'),
    wide(col('Subobject', 'The part of the object the event is about.')),
    wide(col('Source', 'The component that reported the event.')),
    col('Message', 'What happened, for a person to read.'),
    wide(col('First Seen', 'Time since the event was first seen.')),
    wide(col('Count', 'How many times the event happened.')),
    wide(col('Name', 'The name of the event object.', { format: 'name' })),
  ],
  cells(obj, now) {
    const ev = obj as Event & Record<string, any>;
    const io = ev.involvedObject ?? {};
    const last = ev.lastTimestamp || ev.eventTime || ev.metadata.creationTimestamp;
    const first = ev.firstTimestamp || ev.eventTime || ev.metadata.creationTimestamp;
    const source = [ev.source?.component, ev.source?.host].filter((s) => s).join(', ');
    return [
      age(last, now),
      ev.type ?? '',
      ev.reason ?? '',
      `${(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`,
      (io as { fieldPath?: string }).fieldPath ?? '',
      source,
      (ev.message ?? '').trim(),
      age(first, now),
      String(ev.count ?? 1),
      ev.metadata.name,
    ];
  },
};
