/**
 * The `kdp` program: one commander program with a file per command under commands/. Usage
 * errors (unknown flags, bad values) exit with code 2 and say what was wrong; failures of the
 * work itself exit 1 with the error and its cause.
 */
import { Command, CommanderError } from 'commander';
import { describeError, isKdpError } from '../errors.ts';
import { KUBERNETES_VERSION, kdpVersion } from '../version.ts';
import { apiserverCommand } from './commands/apiserver.ts';
import { applyCommand } from './commands/apply.ts';
import { benchCommand } from './commands/bench.ts';
import { cleanupCommand } from './commands/cleanup.ts';
import { doctorCommand } from './commands/doctor.ts';
import { downCommand } from './commands/down.ts';
import { execCommand } from './commands/exec.ts';
import { bpfCommand } from './commands/bpf.ts';
import { deleteCommand, getCommand } from './commands/get.ts';
import { kubeconfigCommand } from './commands/kubeconfig.ts';
import { metricsCommand } from './commands/metrics.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { upCommand } from './commands/up.ts';
import { startApiserverControllers } from './controllers-hook.ts';
import { USAGE_ERROR } from './usage.ts';

function versionCommand(): Command {
  return new Command('version')
    .description("print kdp's version and the Kubernetes API version it serves")
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const v = { kdp: kdpVersion(), kubernetes: KUBERNETES_VERSION.gitVersion, node: process.version };
      if (opts.json) console.log(JSON.stringify(v));
      else console.log(`kdp ${v.kdp} (Kubernetes API ${v.kubernetes}, node ${v.node})`);
    });
}

export function buildProgram(): Command {
  const program = new Command('kdp')
    .description('Kubernetes networking data-plane emulator and benchmark suite')
    .version(kdpVersion(), '-V, --version', "print kdp's version")
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions() // `kdp exec POD -- cmd --flags` and `kdp run x.ts --flags` pass options on
    .exitOverride();
  const clusterCommands = [
    upCommand(),
    downCommand(),
    statusCommand(),
    cleanupCommand(),
    kubeconfigCommand(),
  ];
  const workCommands = [
    applyCommand(),
    getCommand(),
    deleteCommand(),
    execCommand(),
    bpfCommand(),
    metricsCommand(),
    runCommand(),
    doctorCommand(),
    benchCommand(),
  ];
  for (const cmd of [...clusterCommands, ...workCommands]) program.addCommand(cmd);
  program.addCommand(versionCommand());
  program.addCommand(apiserverCommand({ startControllers: startApiserverControllers }));
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

/** Runs the program; resolves with the exit code (long-running commands resolve once started). */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // Commands that pass a status through (exec, run) or finish with partial failures (apply) set it.
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are "errors" to commander; its own parse errors are already printed.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isKdpError(e, USAGE_ERROR)) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    console.error(`error: ${describeError(e)}`);
    return 1;
  }
}
