/**
 * The resource table: every kind the apiserver serves, where it lives in the REST tree, and how
 * it is addressed. Discovery, routing, the store's keys and the clients all read this one table.
 */

export interface ResourceInfo {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  /** Plural, lower-case: the path segment (`services`). */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  subresources: ('status' | 'scale')[];
  categories?: string[];
  /** Field selectors the list and watch calls accept besides metadata.name/metadata.namespace. */
  fieldSelectors: string[];
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const RESOURCE_VERBS: readonly string[] = VERBS;

function r(
  group: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  more: Partial<Pick<ResourceInfo, 'shortNames' | 'subresources' | 'categories' | 'fieldSelectors'>> = {},
): ResourceInfo {
  return {
    group,
    version: 'v1',
    resource,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames: more.shortNames ?? [],
    subresources: more.subresources ?? [],
    categories: more.categories,
    fieldSelectors: more.fieldSelectors ?? [],
  };
}

export const RESOURCES: readonly ResourceInfo[] = [
  r('', 'namespaces', 'Namespace', false, {
    shortNames: ['ns'],
    subresources: ['status'],
    fieldSelectors: ['status.phase'],
  }),
  r('', 'nodes', 'Node', false, {
    shortNames: ['no'],
    subresources: ['status'],
    fieldSelectors: ['spec.unschedulable'],
  }),
  r('', 'pods', 'Pod', true, {
    shortNames: ['po'],
    subresources: ['status'],
    categories: ['all'],
    fieldSelectors: ['spec.nodeName', 'status.phase', 'status.podIP', 'spec.restartPolicy'],
  }),
  r('', 'services', 'Service', true, {
    shortNames: ['svc'],
    subresources: ['status'],
    categories: ['all'],
    fieldSelectors: ['spec.clusterIP', 'spec.type'],
  }),
  r('', 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  r('', 'events', 'Event', true, {
    shortNames: ['ev'],
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'reason',
      'type',
    ],
  }),
  r('discovery.k8s.io', 'endpointslices', 'EndpointSlice', true, {}),
  r('apps', 'deployments', 'Deployment', true, {
    shortNames: ['deploy'],
    subresources: ['status', 'scale'],
    categories: ['all'],
  }),
  r('apps', 'replicasets', 'ReplicaSet', true, {
    shortNames: ['rs'],
    subresources: ['status', 'scale'],
    categories: ['all'],
  }),
];

export function apiVersionOf(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Group-qualified resource name, the store's key prefix: `services`, `apps/deployments`. */
export function groupResource(info: Pick<ResourceInfo, 'group' | 'resource'>): string {
  return info.group ? `${info.group}/${info.resource}` : info.resource;
}

const byGroupResource = new Map(RESOURCES.map((x) => [groupResource(x), x]));
const byKind = new Map(RESOURCES.map((x) => [`${apiVersionOf(x)}/${x.kind}`, x]));

/** Looks a resource up by group and plural; undefined when the server does not serve it. */
export function findResource(group: string, resource: string): ResourceInfo | undefined {
  return byGroupResource.get(group ? `${group}/${resource}` : resource);
}

/** Looks a resource up by apiVersion and kind, as written in a manifest. */
export function findResourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** The resource for a kind by a short or long name, as kubectl accepts them: `svc`, `pods`, `deploy`. */
export function findResourceByName(name: string): ResourceInfo | undefined {
  const n = name.toLowerCase();
  return RESOURCES.find(
    (x) => x.resource === n || x.singular === n || x.shortNames.includes(n) || x.kind.toLowerCase() === n,
  );
}
