/**
 * `kdp cleanup`: removes a cluster's leftovers by name (namespaces, processes, state directory),
 * whatever state it was left in; --all does it for every kdp cluster. Says what it removed.
 */
import { Command } from 'commander';
import { cleanup, type CleanupReport } from '../../cluster/cleanup.ts';
import { clusterName, requireRoot, withNameOption } from '../cluster-access.ts';
import { createProgress } from '../progress.ts';
import { usageError } from '../usage.ts';

function summary(r: CleanupReport): string {
  const parts: string[] = [];
  if (r.processes.length) parts.push(`${r.processes.length} processes`);
  if (r.namespaces.length) parts.push(`${r.namespaces.length} namespaces`);
  if (r.cgroups.length) parts.push(`${r.cgroups.length} cgroups`);
  if (r.stateDirs.length) parts.push(r.stateDirs.join(', '));
  return parts.length ? `removed ${parts.join(', ')}` : 'nothing to clean up';
}

export function cleanupCommand(): Command {
  return withNameOption(
    new Command('cleanup').description(
      'remove everything a cluster left behind (namespaces, processes, /run/kdp/<cluster>, kdp cgroups), even after kill -9',
    ),
  )
    .option('--all', 'every kdp cluster (all kdp- namespaces, kdp: processes and /run/kdp)')
    .option('--json', 'print what was removed as JSON')
    .option('-v, --verbose', 'list every namespace and process removed')
    .action(async (flags: { name?: string; all?: boolean; json?: boolean; verbose?: boolean }) => {
      if (flags.all && flags.name) throw usageError('--all and --name exclude each other');
      const cluster = flags.all ? undefined : clusterName(flags);
      requireRoot('kdp cleanup');
      const progress = createProgress({ quiet: flags.json });
      progress.update(flags.all ? 'removing every kdp cluster' : `removing cluster "${cluster}"`);
      let report: CleanupReport;
      try {
        report = await cleanup({ cluster, all: flags.all });
      } catch (e) {
        progress.stop();
        throw e;
      }
      if (flags.json) {
        console.log(JSON.stringify(report));
        return;
      }
      progress.done(summary(report));
      if (flags.verbose) {
        for (const p of report.processes)
          console.log(`process ${p.pid} ${p.title} (${p.reason}${p.netns ? ` ${p.netns}` : ''})`);
        for (const n of report.namespaces) console.log(`namespace ${n}`);
        for (const c of report.cgroups) console.log(`cgroup ${c}`);
      }
    });
}
