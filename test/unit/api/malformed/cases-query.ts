/**
 * Finding 5, query parameters: bad values per verb and resource, answered as upstream (400 for
 * values that do not decode, 422 for ListOptions and DeleteOptions that do not validate), and a
 * write with a bad parameter stores nothing.
 */
import type { MalformedCase } from './case.ts';

const COLLECTIONS = [
  '/api/v1/namespaces/default/services',
  '/api/v1/namespaces/default/pods',
  '/api/v1/nodes',
  '/apis/apps/v1/namespaces/default/deployments',
  '/apis/discovery.k8s.io/v1/endpointslices',
];

const READ_QUERIES: [string, number][] = [
  ['watch=maybe', 400],
  ['watch=yes', 400],
  ['allowWatchBookmarks=perhaps&watch=true', 400],
  ['resourceVersion=abc', 400],
  ['resourceVersion=-1', 400],
  ['resourceVersion=abc&watch=1', 400],
  ['limit=ten', 400],
  ['limit=-5', 400],
  ['timeoutSeconds=soon&watch=true', 400],
  ['labelSelector=a%20in%20()', 400],
  ['labelSelector=a,,b', 400],
  ['labelSelector=a,', 400],
  ['labelSelector=a%3Db%3Dc', 400],
  ['labelSelector=bad%20key!', 400],
  ['labelSelector=a%20in%20()&watch=true', 400],
  ['fieldSelector=spec.nope%3D1', 400],
  ['fieldSelector=justtext', 400],
  ['continue=not-a-token', 400],
  ['resourceVersionMatch=Sometimes&resourceVersion=1', 422],
  ['resourceVersionMatch=NotOlderThan', 422],
  ['resourceVersionMatch=Exact&resourceVersion=0', 422],
  ['resourceVersionMatch=NotOlderThan&resourceVersion=1&watch=true', 422],
];

const reasonOf = (status: number) => (status === 400 ? 'BadRequest' : 'Invalid');

const reads: MalformedCase[] = COLLECTIONS.flatMap((path) =>
  READ_QUERIES.map(([q, status]): MalformedCase => ({
    name: `finding 5: GET ${path}?${q}`,
    method: 'GET',
    path: `${path}?${q}`,
    status,
    reason: reasonOf(status),
  })),
);

const SVC = '/api/v1/namespaces/default/services';
const svc = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [{ port: 80 }] },
});
const target = 'query-target';
const setup = [{ path: SVC, body: svc(target) }];

const WRITE_QUERIES: [string, number][] = [
  ['dryRun=Some', 400],
  ['dryRun=true', 400],
  ['fieldValidation=strict', 400],
  ['fieldValidation=Loose', 400],
  [`fieldManager=${'m'.repeat(129)}`, 400],
];

const writes: MalformedCase[] = WRITE_QUERIES.flatMap(([q, status], i): MalformedCase[] => [
  {
    name: `finding 5: POST service with ${q.slice(0, 40)}`,
    method: 'POST',
    path: `${SVC}?${q}`,
    body: svc(`query-post-${i}`),
    status,
    reason: reasonOf(status),
    notStored: `${SVC}/query-post-${i}`,
  },
  {
    name: `finding 5: PUT service with ${q.slice(0, 40)}`,
    method: 'PUT',
    path: `${SVC}/${target}?${q}`,
    body: svc(target),
    setup,
    status,
    reason: reasonOf(status),
  },
  {
    name: `finding 5: merge PATCH service with ${q.slice(0, 40)}`,
    method: 'PATCH',
    path: `${SVC}/${target}?${q}`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { patched: 'yes' } } },
    setup,
    status,
    reason: reasonOf(status),
  },
]);

const DELETE_QUERIES: [string, number][] = [
  ['gracePeriodSeconds=-1', 422],
  ['gracePeriodSeconds=soon', 400],
  ['gracePeriodSeconds=1.5', 400],
  ['propagationPolicy=Sometimes', 422],
  ['dryRun=Maybe', 400],
];

const deletes: MalformedCase[] = DELETE_QUERIES.map(([q, status]) => ({
  name: `finding 5: DELETE service with ${q}`,
  method: 'DELETE',
  path: `${SVC}/${target}?${q}`,
  setup,
  status,
  reason: reasonOf(status),
}));

export const cases: MalformedCase[] = [...reads, ...writes, ...deletes];
