/**
 * `kdp down`: asks the cluster's supervisor to stop (SIGTERM through its pid file) and waits
 * until it has stopped the agents and removed the pods, namespaces and state files. When the
 * supervisor died (kill -9) and left the cluster behind, it removes the leftovers as
 * `kdp cleanup` does, so `down` ends a cluster whatever happened to it.
 */
import { Command } from 'commander';
import { cleanup } from '../../cluster/cleanup.ts';
import { NOT_RUNNING, stopSupervisor } from '../../cluster/supervisor-launch.ts';
import { KdpError } from '../../errors.ts';
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
        const stopped = await stopSupervisor(cluster).catch(async (e: unknown) => {
          if (!(e instanceof KdpError) || e.code !== NOT_RUNNING) throw e;
          const r = await cleanup({ cluster });
          if (!r.processes.length && !r.namespaces.length && !r.stateDirs.length) throw e;
          return undefined;
        });
        if (flags.json)
          console.log(
            JSON.stringify({ cluster, stopped: true, supervisorPid: stopped?.pid, supervisorGone: !stopped }),
          );
        else
          progress.done(
            stopped
              ? `cluster "${cluster}" stopped and removed`
              : `cluster "${cluster}" had lost its supervisor; its leftovers are removed`,
          );
      } catch (e) {
        progress.stop();
        throw e;
      }
    });
}
