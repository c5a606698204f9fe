/**
 * Checks of a write's body against the request before any strategy sees it: the body is an object
 * of the URL's kind and API version with an object metadata (filled in when absent), and a create's
 * namespace matches the URL's, exists and is not being terminated.
 */
import { ApiError, badRequest, notFound } from '../errors.ts';
import { type ResourceInfo, apiVersionOf } from '../resources.ts';
import type { Store } from '../store/store.ts';
import type { KubeObject } from '../types.ts';

/** A copy of the body as an object of the resource's kind, or 400 saying what is wrong. */
export function checkBody(info: ResourceInfo, body: unknown): KubeObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`the body of the request must be a ${info.kind} object`);
  }
  const obj = structuredClone(body) as KubeObject;
  const av = apiVersionOf(info);
  if (obj.kind !== undefined && obj.kind !== info.kind) {
    throw badRequest(
      `the kind in the data (${String(obj.kind)}) does not match the expected kind (${info.kind})`,
    );
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== av) {
    throw badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${av})`,
    );
  }
  obj.kind = info.kind;
  obj.apiVersion = av;
  if (obj.metadata === undefined) obj.metadata = {};
  if (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
    throw badRequest('metadata must be an object');
  }
  return obj;
}

/** The namespace a create goes to ('' for cluster-scoped kinds); it must exist and not be terminating. */
export function checkCreateNamespace(
  store: Store,
  info: ResourceInfo,
  namespace: string,
  obj: KubeObject,
): string {
  if (!info.namespaced) return '';
  const bodyNs = obj.metadata.namespace;
  if (bodyNs !== undefined && bodyNs !== '' && bodyNs !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const nsObj = store.get('namespaces', '', namespace);
  if (!nsObj) throw notFound('namespaces', namespace);
  if (nsObj.metadata.deletionTimestamp) {
    throw new ApiError(
      'Forbidden',
      `${info.resource} "${obj.metadata.name ?? ''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      { kind: info.resource, name: obj.metadata.name, group: info.group },
    );
  }
  return namespace;
}
