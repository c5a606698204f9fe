/**
 * Entry point of the detached supervisor process that `kdp up` starts (supervisor-launch.ts):
 * `node --import tsx supervisor-main.ts --topology '<TopologyInput as JSON>' [--state-dir DIR]`.
 * Everything else is in supervisor.ts.
 */
import { describeError } from '../errors.ts';
import { runSupervisor } from './supervisor.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// The supervisor holds the whole cluster (apiserver, controllers, the agents' restarts): a bug
// that throws outside any request or reconcile must not take all of it down. Log, keep serving.
for (const event of ['uncaughtException', 'unhandledRejection'] as const)
  process.on(event, (e: unknown) => {
    console.error(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        message: `${event} (kept running): ${describeError(e)}`,
        stack: e instanceof Error ? e.stack : undefined,
      }),
    );
  });

try {
  const topology = JSON.parse(arg('--topology') ?? '{}') as Record<string, unknown>;
  process.exitCode = await runSupervisor({ topology, stateDir: arg('--state-dir') });
} catch (e) {
  console.error(
    JSON.stringify({ time: new Date().toISOString(), level: 'error', message: describeError(e) }),
  );
  process.exitCode = 1;
}
// Informers or timers of a failed start must not keep the process alive.
process.exit();
