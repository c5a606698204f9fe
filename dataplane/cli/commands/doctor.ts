/**
 * `kdp doctor`: which kernel features and tools this machine has for kdp, and what each missing
 * one disables (see doctor-checks.ts for how each is proven). Exit 1 when kdp cannot build
 * clusters here at all (no namespaces, veth or bridges), 0 otherwise.
 */
import { Command } from 'commander';
import { runDoctor } from '../doctor-checks.ts';
import { proxyModeChecks } from '../doctor-modes.ts';
import { createProgress } from '../progress.ts';
import { formatTable } from '../table.ts';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check the kernel features and tools kdp uses, and what a missing one disables')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const progress = createProgress({ quiet: flags.json });
      progress.update('probing kernel features in a test namespace');
      const checks = [...(await runDoctor()), ...proxyModeChecks()];
      progress.stop();
      const fatal = checks.some((c) => c.required && !c.ok);
      if (flags.json) {
        console.log(JSON.stringify({ ok: !fatal, checks }));
      } else {
        console.log(
          formatTable(
            ['CHECK', 'STATUS', 'DETAIL'],
            checks.map((c) => [
              c.name,
              c.ok ? 'ok' : c.required ? 'MISSING (required)' : 'missing',
              c.detail,
            ]),
          ),
        );
        const missing = checks.filter((c) => !c.ok);
        if (missing.length) {
          console.log('\nWithout what is missing, kdp cannot offer:');
          for (const c of missing) console.log(`  ${c.name}: ${c.disables}`);
        }
        console.log(
          fatal
            ? '\nkdp cannot build clusters on this machine.'
            : '\nkdp can build clusters on this machine.',
        );
      }
      if (fatal) process.exitCode = 1;
    });
}
