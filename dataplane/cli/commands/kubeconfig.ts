/**
 * `kdp kubeconfig`: prints the path of a running cluster's kubeconfig, so that
 * `kubectl --kubeconfig "$(kdp kubeconfig)" get pods -o wide` just works.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { clusterName, runningClusterPaths, withNameOption } from '../cluster-access.ts';
import { KdpError } from '../../errors.ts';

export function kubeconfigCommand(): Command {
  return withNameOption(
    new Command('kubeconfig').description("print the path of a running cluster's kubeconfig"),
  )
    .addHelpText('after', '\nExample:\n  kubectl --kubeconfig "$(kdp kubeconfig)" get pods -o wide')
    .action((flags: { name?: string }) => {
      const paths = runningClusterPaths(clusterName(flags));
      if (!existsSync(paths.kubeconfig)) {
        throw new KdpError(
          'KDP_ERR_CLUSTER_NOT_RUNNING',
          `no kubeconfig at ${paths.kubeconfig}: is the cluster still starting?`,
        );
      }
      console.log(paths.kubeconfig);
    });
}
