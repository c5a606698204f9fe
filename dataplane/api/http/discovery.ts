/**
 * Discovery documents, shaped as upstream serves them, so kubectl and client libraries can map
 * kinds to resources (APIVersions at /api, APIGroupList at /apis, APIGroup, APIResourceList per
 * group/version), and /version. All of it is derived from the resource table.
 */
import { KUBERNETES_VERSION, kdpVersion } from '../../version.ts';
import { type ResourceInfo, RESOURCE_VERBS, RESOURCES } from '../resources.ts';
import { servedGroupVersions } from './rest-paths.ts';

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };

export function versionInfo(): Record<string, string> {
  return {
    ...KUBERNETES_VERSION,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '',
    goVersion: '',
    compiler: '',
    platform: `${process.platform}/${GO_ARCH[process.arch] ?? process.arch}`,
    kdpVersion: kdpVersion(),
    nodeVersion: process.version,
  };
}

export function apiVersions(serverAddress?: string): unknown {
  return {
    kind: 'APIVersions',
    versions: servedGroupVersions()
      .filter((gv) => gv.group === '')
      .map((gv) => gv.version),
    serverAddressByClientCIDRs: serverAddress ? [{ clientCIDR: '0.0.0.0/0', serverAddress }] : [],
  };
}

function groupDoc(group: string): Record<string, unknown> {
  const versions = servedGroupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): unknown {
  const groups = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDoc) };
}

export function apiGroup(group: string): unknown {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group) };
}

/** Verbs a resource answers to; namespaces cannot be deleted as a collection, as upstream. */
export function verbsOf(info: ResourceInfo): string[] {
  return info.kind === 'Namespace'
    ? RESOURCE_VERBS.filter((v) => v !== 'deletecollection')
    : [...RESOURCE_VERBS];
}

function subresourceDocs(info: ResourceInfo): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [];
  const base = { singularName: '', namespaced: info.namespaced };
  if (info.kind === 'Namespace')
    docs.push({ name: 'namespaces/finalize', ...base, kind: 'Namespace', verbs: ['update'] });
  for (const sub of info.subresources) {
    const verbs = ['get', 'patch', 'update'];
    if (sub === 'scale') {
      docs.push({
        name: `${info.resource}/scale`,
        ...base,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs,
      });
    } else docs.push({ name: `${info.resource}/${sub}`, ...base, kind: info.kind, verbs });
  }
  return docs;
}

export function apiResourceList(group: string, version: string): unknown {
  const resources: Record<string, unknown>[] = [];
  for (const info of RESOURCES.filter((r) => r.group === group && r.version === version)) {
    const doc: Record<string, unknown> = {
      name: info.resource,
      singularName: info.singular,
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: verbsOf(info),
    };
    if (info.shortNames.length) doc.shortNames = info.shortNames;
    if (info.categories?.length) doc.categories = info.categories;
    resources.push(doc, ...subresourceDocs(info));
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

/** The paths the server answers at its root, as upstream lists them at `/`. */
export function rootPaths(): unknown {
  const paths = [
    '/api',
    '/api/v1',
    '/apis',
    '/healthz',
    '/livez',
    '/metrics',
    '/openapi/v2',
    '/openapi/v3',
    '/readyz',
    '/version',
  ];
  for (const gv of servedGroupVersions()) {
    if (gv.group) paths.push(`/apis/${gv.group}`, `/apis/${gv.group}/${gv.version}`);
  }
  return { paths: paths.sort() };
}
