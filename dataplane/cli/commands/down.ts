/**
 * `kdp down`: asks the cluster's supervisor to stop (SIGTERM through its pid file) and waits
 * until it has stopped the agents and removed the pods, namespaces and state files.
 */
import { Command } from 'commander';
import { stopSupervisor } from '../../cluster/supervisor-launch.ts';
import { clusterName, requireRoot, withNameOption } from '../cluster-access.ts';
import { createProgress } from '../progress.ts';

export function downCommand(): Command {
  return withNameOption(
    new Command('down').description('stop a cluster started with kdp up and remove all of it'),
  )
    .option('--json', 'print the result as JSON (no progress)')
    .action(async (flags: { name?: string; json?: boolean }) => {
      const cluster = clusterName(flags);
      requireRoot('kdp down');
      const progress = createProgress({ quiet: flags.json });
      progress.update(`stopping cluster "${cluster}"`);
      try {
        const { pid } = await stopSupervisor(cluster);
        if (flags.json) console.log(JSON.stringify({ cluster, stopped: true, supervisorPid: pid }));
        else progress.done(`cluster "${cluster}" stopped and removed`);
      } catch (e) {
        progress.stop();
        throw e;
      }
    });
}
