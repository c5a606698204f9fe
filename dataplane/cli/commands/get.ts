/**
 * `kdp get` and `kdp delete`: the everyday reads and deletes without kubectl. `get` asks the
 * apiserver for the same server-side Table kubectl prints (so the columns match `kubectl get`),
 * or the objects as JSON/YAML; `delete` deletes by name and waits until the objects are gone.
 * Anything more (describe, logs, edit, patch, rollout) is kubectl's: the help says how.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { ResourceInfo } from '../../api/resources.ts';
import { resolveResource, resourcePath } from '../../client/client.ts';
import type { ClusterPaths } from '../../cluster/builder-state.ts';
import { KdpError } from '../../errors.ts';
import { clusterClient, clusterName, runningClusterPaths, withNameOption } from '../cluster-access.ts';
import { formatTable } from '../table.ts';
import { usageError } from '../usage.ts';

const KUBECTL_HINT = '\nFor everything else use kubectl: kubectl --kubeconfig "$(kdp kubeconfig)" ...';

interface Table {
  columnDefinitions: { name: string; priority?: number }[];
  rows: { cells: unknown[]; object?: { metadata?: { namespace?: string } } }[];
}

function resource(name: string): ResourceInfo {
  try {
    return resolveResource(name);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

/** GET with an Accept header (the typed client always asks for plain JSON), with the cluster's token. */
function getJson(paths: ClusterPaths, path: string, accept: string): Promise<unknown> {
  const token = readFileSync(paths.token, 'utf8').trim();
  const headers = { Accept: accept, Authorization: `Bearer ${token}` };
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: paths.socket, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: string };
        if ((res.statusCode ?? 500) >= 300)
          reject(new KdpError('KDP_ERR_API', body.message ?? `HTTP ${res.statusCode}`));
        else resolve(body);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function cellText(v: unknown): string {
  return v === null || v === undefined ? '<none>' : String(v);
}

interface GetFlags {
  name?: string;
  namespace: string;
  allNamespaces?: boolean;
  output?: string;
  selector?: string;
}

export function getCommand(): Command {
  return withNameOption(new Command('get').description('list or show objects (kubectl get, the basics)'))
    .argument('<resource>', 'pods, services, nodes, deployments, endpointslices, ... (short names work)')
    .argument('[names...]', 'only these objects')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'every namespace')
    .option('-o, --output <format>', 'wide, json, yaml or name')
    .option('-l, --selector <selector>', 'label selector')
    .addHelpText('after', KUBECTL_HINT)
    .action(async (what: string, names: string[], flags: GetFlags) => {
      const output = flags.output ?? '';
      if (!['', 'wide', 'json', 'yaml', 'name'].includes(output)) {
        throw usageError(`--output "${output}": use wide, json, yaml or name (or kubectl for more)`);
      }
      const kinds = what.split(',').filter(Boolean).map(resource);
      if (kinds.length > 1 && names.length)
        throw usageError('names go with one resource type (kdp get pods a b)');
      const cluster = clusterName(flags);
      for (const [i, info] of kinds.entries()) {
        if (i > 0 && output !== 'json' && output !== 'yaml') console.log('');
        await getOne(cluster, info, names, flags, output);
      }
    });
}

async function getOne(cluster: string, info: ResourceInfo, names: string[], flags: GetFlags, output: string) {
  const ns = info.namespaced && !flags.allNamespaces ? flags.namespace : undefined;
  const query = flags.selector ? `?labelSelector=${encodeURIComponent(flags.selector)}` : '';
  const client = clusterClient(cluster);
  try {
    if (output === 'json' || output === 'yaml' || output === 'name') {
      const api = client.resource(info);
      const items = names.length
        ? await Promise.all(names.map((n) => api.get(n, ns)))
        : (await api.listAll({ namespace: ns, labelSelector: flags.selector })).items;
      if (output === 'name') {
        for (const o of items)
          console.log(`${info.kind.toLowerCase()}${info.group ? `.${info.group}` : ''}/${o.metadata.name}`);
        return;
      }
      const doc = names.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', metadata: {}, items };
      process.stdout.write(output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : toYaml(doc));
      return;
    }
    const paths = runningClusterPaths(cluster);
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io';
    const tables = names.length
      ? await Promise.all(
          names.map((n) => getJson(paths, resourcePath(info, ns, n), accept) as Promise<Table>),
        )
      : [(await getJson(paths, resourcePath(info, ns) + query, accept)) as Table];
    const defs = tables[0].columnDefinitions;
    const shown = defs.map((d, i) => ({ d, i })).filter(({ d }) => output === 'wide' || !d.priority);
    const rows = tables.flatMap((t) => t.rows);
    if (rows.length === 0) {
      console.error(ns ? `No resources found in ${ns} namespace.` : 'No resources found');
      return;
    }
    const withNs = info.namespaced && flags.allNamespaces;
    console.log(
      formatTable(
        [...(withNs ? ['NAMESPACE'] : []), ...shown.map(({ d }) => d.name.toUpperCase())],
        rows.map((r) => [
          ...(withNs ? [r.object?.metadata?.namespace ?? ''] : []),
          ...shown.map(({ i }) => cellText(r.cells[i])),
        ]),
      ),
    );
  } finally {
    client.close();
  }
}

export function deleteCommand(): Command {
  return withNameOption(
    new Command('delete').description('delete objects by name and wait until they are gone'),
  )
    .argument('<resource>', 'pods, services, deployments, ...')
    .argument('<names...>', 'objects to delete')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--grace-period <seconds>', 'seconds a pod gets to stop (0: at once)')
    .option('--no-wait', 'return once deletion is asked for')
    .addHelpText('after', KUBECTL_HINT)
    .action(
      async (
        what: string,
        names: string[],
        flags: { name?: string; namespace: string; gracePeriod?: string; wait: boolean },
      ) => {
        const info = resource(what);
        let grace: number | undefined;
        if (flags.gracePeriod !== undefined) {
          grace = Number(flags.gracePeriod);
          if (!Number.isInteger(grace) || grace < 0)
            throw usageError(`--grace-period "${flags.gracePeriod}": a whole number of seconds`);
        }
        const ns = info.namespaced ? flags.namespace : undefined;
        const client = clusterClient(clusterName(flags));
        const api = client.resource(info);
        let failed = 0;
        try {
          await Promise.all(
            names.map(async (n) => {
              try {
                await api.delete(n, { namespace: ns, gracePeriodSeconds: grace });
                if (flags.wait) {
                  const deadline = Date.now() + 120_000;
                  while ((await api.tryGet(n, ns)) && Date.now() < deadline)
                    await new Promise((r) => setTimeout(r, 50));
                }
                console.log(`${info.kind.toLowerCase()} "${n}" deleted`);
              } catch (e) {
                failed++;
                console.error(`error: ${(e as Error).message}`);
              }
            }),
          );
        } finally {
          client.close();
        }
        if (failed) process.exitCode = 1;
      },
    );
}
