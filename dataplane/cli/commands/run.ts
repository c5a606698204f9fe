/**
 * `kdp run <scenario.ts> [args...]`: runs a TypeScript scenario script (scenarios/*.ts) in a
 * child node process with tsx, passing the arguments on, and exits with its status. The
 * scenario brings its own cluster up and down (Cluster.create, `await using`); a Ctrl-C goes to
 * it, and it tears its cluster down before it exits.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { constants } from 'node:os';
import { usageError } from '../usage.ts';

export function runCommand(): Command {
  return new Command('run')
    .description('run a scenario script (TypeScript), e.g. kdp run scenarios/quickstart.ts')
    .argument('<scenario>', 'path of the .ts scenario')
    .argument('[args...]', 'arguments for the scenario')
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (scenario: string, args: string[]) => {
      const file = resolve(scenario);
      if (!existsSync(file)) throw usageError(`<scenario> "${scenario}": no such file`);
      const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), file, ...args], {
        stdio: 'inherit',
      });
      // A terminal's Ctrl-C reaches the scenario directly; a SIGTERM sent to kdp is passed on.
      const ignore = () => {};
      const forward = () => child.kill('SIGTERM');
      process.on('SIGINT', ignore);
      process.on('SIGTERM', forward);
      try {
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
          child.once('error', rej);
          child.once('exit', (c, s) => res([c, s]));
        });
        process.exitCode = code ?? 128 + (signal ? constants.signals[signal] : 1);
      } finally {
        process.off('SIGINT', ignore);
        process.off('SIGTERM', forward);
      }
    });
}
