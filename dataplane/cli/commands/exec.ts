/**
 * `kdp exec <pod> -- cmd ...`: runs a command inside a pod's network namespace (with the host's
 * filesystem and programs: kdp pods have no images), attached to this terminal, and exits with
 * the command's status. The pod is `name` (namespace default) or `namespace/name`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { Command } from 'commander';
import type { Pod } from '../../api/types.ts';
import { POD_NOT_RUNNING } from '../../cluster/cluster.ts';
import { podNamespace } from '../../cluster/topology-names.ts';
import { KdpError } from '../../errors.ts';
import { netnsPath } from '../../kernel/name-checks.ts';
import { clusterClient, clusterName, requireRoot, withNameOption } from '../cluster-access.ts';
import { usageError } from '../usage.ts';

export function execCommand(): Command {
  return withNameOption(new Command('exec').description("run a command in a pod's network namespace"))
    .argument('<pod>', 'NAME or NAMESPACE/NAME')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('-n, --namespace <ns>', 'namespace of the pod', 'default')
    .passThroughOptions()
    .addHelpText(
      'after',
      '\nExamples:\n  kdp exec pod-1-1 -- ip -br addr\n  kdp exec default/pod-1-1 -- curl -s 10.244.1.2:8080',
    )
    .action(async (ref: string, command: string[], flags: { name?: string; namespace: string }) => {
      const argv = command[0] === '--' ? command.slice(1) : command;
      if (argv.length === 0) throw usageError('no command given: kdp exec POD -- COMMAND [ARGS...]');
      const cluster = clusterName(flags);
      requireRoot('kdp exec');
      const slash = ref.indexOf('/');
      const ns = slash < 0 ? flags.namespace : ref.slice(0, slash);
      const name = slash < 0 ? ref : ref.slice(slash + 1);
      const client = clusterClient(cluster);
      let pod: Pod | undefined;
      try {
        pod = await client.resource<Pod>('pods').tryGet(name, ns);
      } finally {
        client.close();
      }
      if (!pod)
        throw new KdpError('KDP_ERR_NOT_FOUND', `pod ${ns}/${name} not found in cluster "${cluster}"`);
      const netns = podNamespace(cluster, ns, name);
      if (!existsSync(netnsPath(netns))) {
        throw new KdpError(
          POD_NOT_RUNNING,
          `pod ${ns}/${name} is not running yet (no network namespace ${netns})`,
        );
      }
      const child = spawn('nsenter', [`--net=${netnsPath(netns)}`, '--', ...argv], { stdio: 'inherit' });
      // The terminal's Ctrl-C reaches the command itself; kdp waits for it and reports its status.
      const ignore = () => {};
      process.on('SIGINT', ignore);
      try {
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
          (resolve, reject) => {
            child.once('error', reject);
            child.once('exit', (c, s) => resolve([c, s]));
          },
        );
        process.exitCode = code ?? 128 + (signal ? constants.signals[signal] : 1);
      } finally {
        process.off('SIGINT', ignore);
      }
    });
}
