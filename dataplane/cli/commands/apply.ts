/**
 * `kdp apply -f FILE|-`: creates or updates the objects of a Kubernetes YAML (or JSON) file, one
 * or many documents (and `kind: List`), through the cluster's apiserver, and prints one line per
 * object as kubectl does (`service/web created`, `deployment.apps/web configured`, `... unchanged`).
 * An existing object gets the file's fields as a strategic merge patch (a JSON merge patch for
 * kinds outside core and apps); for kubectl's three-way apply use kubectl with `kdp kubeconfig`.
 * Every document is tried; any failure makes the exit status 1.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { ApiError } from '../../api/errors.ts';
import { findResourceByKind, type ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { ApiClient } from '../../client/interface.ts';
import { describeError, KdpError } from '../../errors.ts';
import { clusterClient, clusterName, withNameOption } from '../cluster-access.ts';
import { usageError } from '../usage.ts';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/** The documents of a YAML stream, with `List`s expanded; empty documents skipped. */
export function parseManifests(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length)
      throw usageError(`${source}: document ${i + 1} does not parse: ${doc.errors[0].message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw usageError(`${source}: document ${i + 1} is not a Kubernetes object`);
    }
    const obj = value as KubeObject & { items?: KubeObject[] };
    if (obj.kind === 'List' && Array.isArray(obj.items)) out.push(...obj.items);
    else out.push(obj);
  });
  return out;
}

/** kubectl's name for an object in its output: `service/web`, `deployment.apps/web`. */
export function displayName(info: ResourceInfo, name: string): string {
  return `${info.kind.toLowerCase()}${info.group ? `.${info.group}` : ''}/${name}`;
}

export async function applyObject(
  client: ApiClient,
  obj: KubeObject,
  defaultNamespace: string,
): Promise<{ info: ResourceInfo; name: string; outcome: ApplyOutcome }> {
  if (!obj.apiVersion || !obj.kind)
    throw new KdpError('KDP_ERR_APPLY', 'an object without apiVersion or kind');
  const info = findResourceByKind(obj.apiVersion, obj.kind);
  if (!info) throw new KdpError('KDP_ERR_APPLY', `kdp serves no ${obj.kind} in ${obj.apiVersion}`);
  const name = obj.metadata?.name;
  if (!name) throw new KdpError('KDP_ERR_APPLY', `a ${obj.kind} without metadata.name`);
  const namespace = info.namespaced ? (obj.metadata.namespace ?? defaultNamespace) : undefined;
  const api = client.resource(info);
  const body: KubeObject = { ...obj, metadata: { ...obj.metadata, ...(namespace ? { namespace } : {}) } };
  try {
    await api.create(body, { namespace });
    return { info, name, outcome: 'created' };
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
  }
  const before = await api.get(name, namespace);
  const patch: Record<string, unknown> = { ...body, metadata: { ...body.metadata } };
  delete patch.status;
  delete (patch.metadata as Record<string, unknown>).resourceVersion;
  const strategic = info.group === '' || info.group === 'apps';
  const after = await api.patch(name, patch, { namespace, type: strategic ? 'strategic' : 'merge' });
  return {
    info,
    name,
    outcome: after.metadata.resourceVersion === before.metadata.resourceVersion ? 'unchanged' : 'configured',
  };
}

function readSource(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw usageError(`-f ${file}: ${(e as Error).message}`);
  }
}

export function applyCommand(): Command {
  return withNameOption(
    new Command('apply').description(
      'create or update objects from Kubernetes YAML (several documents allowed)',
    ),
  )
    .requiredOption('-f, --filename <file...>', 'YAML or JSON file, - for stdin; may be repeated')
    .option('-n, --namespace <ns>', 'namespace for objects that name none', 'default')
    .option('-o, --output <format>', '"name" prints only kind/name')
    .addHelpText('after', '\nExample:\n  kdp apply -f web.yaml\n  cat web.yaml | kdp apply -f -')
    .action(async (flags: { name?: string; filename: string[]; namespace: string; output?: string }) => {
      if (flags.output && flags.output !== 'name')
        throw usageError(`--output "${flags.output}": only "name" is supported`);
      const objects = flags.filename.flatMap((f) => parseManifests(readSource(f), f === '-' ? 'stdin' : f));
      if (objects.length === 0) throw usageError('no objects passed to apply');
      const client = clusterClient(clusterName(flags));
      let failed = 0;
      try {
        for (const obj of objects) {
          try {
            const r = await applyObject(client, obj, flags.namespace);
            const shown = displayName(r.info, r.name);
            console.log(flags.output === 'name' ? shown : `${shown} ${r.outcome}`);
          } catch (e) {
            failed++;
            const what = `${obj.kind ?? '?'} "${obj.metadata?.name ?? '?'}"`;
            console.error(`error: ${what}: ${e instanceof ApiError ? e.message : describeError(e)}`);
          }
        }
      } finally {
        client.close();
      }
      if (failed) process.exitCode = 1;
    });
}
