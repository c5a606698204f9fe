/**
 * The `callgrind` control workload: instructions per operation of the hot paths of cases.ts (and
 * of the native addon's engineProcess when it is built), counted by `valgrind --tool=callgrind`.
 * Instruction counts are repeatable where wall time on a shared machine is not (see below for how
 * far), so a 10% change stands out of a few trials. How: callgrind-entry.ts is bundled with esbuild into one file (no tsx loader
 * under valgrind: its transform cache would make the first run differ from the next), run once
 * with W iterations at setup (node's start-up, the case's preparation, and a warm-up in which the
 * JIT compiles the operation) and once per trial with W + N; the metric is (I(W + N) - I(W)) / N,
 * the steady state of optimised code. Without the warm-up, compiling dominates short runs: 2000
 * operations of udp-from-tun cost ~35,700 instructions each, against ~2,700 when warm.
 *
 * Repeatability, measured on this 2-vCPU VM (Node 20): plain `node` varies by ~0.5% in start-up
 * alone (~3 million of ~595 million instructions) and by up to 3% of a 20,000-iteration loop,
 * even with --jitless: V8 seeds its string hashes at random and compiles and collects garbage on
 * background threads. --single-threaded with fixed --hash-seed and --random-seed steadies a loop
 * that does not allocate (~500 instructions in ~33 million), but udp-from-tun (a Buffer per
 * packet) still moved 3% between trials (2,668 and 2,586 instructions/op): garbage collection
 * heuristics read the clock. V8's --predictable (no concurrency, no time-based heuristics) with
 * the fixed seeds, as used here, and two runs of the same program:
 * - udp-from-tun, 40,000 operations: ~6,000 instructions apart in ~838 million, 0.3 of its
 *   ~2,770 instructions/op (0.01%); apiserver-dispatcher-create, 2,000: ~1,700 in 1.6 billion;
 * - endpoints-tracker-update (~1 million instructions/op), 400: ~24,000 apart in 2.04 billion,
 *   once 2.6 million (a garbage collection more or less); two trials of the workload: 996,332 and
 *   990,650 instructions/op (0.6%);
 * - iptables-full-sync-1k (~430 million instructions/op, 3 MB of rule text each), 6 operations:
 *   2.1 million apart at 2, but 94 million (2%; ~16 million/op, ~4%) at 6, even with address
 *   randomisation off: this case's count is good to a few percent, the others' to far better.
 * The JIT stays on: the figures are those of optimised code, as in use.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { OVERLAY_ADDON_PATH as NATIVE_ADDON_PATH } from '../../../dataplane/overlay/backends/udp/native-binding.ts';
import { KdpError } from '../../../dataplane/errors.ts';
import type { ControlWorkload, TrialValue, WorkloadInstance } from '../../lib/workload.ts';
import { findCase, NATIVE_CASES, TS_CASES } from './cases.ts';

/** The quick (smoke) suite runs the one case that needs no preparation (node's start-up dominates). */
const QUICK_CASE = 'udp-from-tun';
const NODE_FLAGS = ['--predictable', '--hash-seed=1', '--random-seed=1'];
const TIMEOUT_MS = 600_000;

function valgrindMissing(): string | undefined {
  const r = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'valgrind is not installed (Debian package valgrind)';
}

/**
 * valgrind, under `setarch -R` (util-linux: no address space randomisation for this process) when
 * that works: with addresses the same from run to run, counts of allocating cases move less.
 */
function launcher(): string[] {
  return spawnSync('setarch', ['-R', 'true']).status === 0 ? ['setarch', '-R', 'valgrind'] : ['valgrind'];
}

export const callgrindWorkload: ControlWorkload = {
  name: 'callgrind',
  description: 'instructions per operation of the hot paths (TypeScript and native) under valgrind callgrind',
  modeDependent: false,
  needsRoot: false,
  unavailable: valgrindMissing,
  variants: (quick) =>
    quick
      ? [{ case: QUICK_CASE }]
      : [...TS_CASES, ...NATIVE_CASES].filter((c) => !c.unavailable?.()).map((c) => ({ case: c.name })),
  async setup(axes, options) {
    const missing = valgrindMissing();
    if (missing) throw new KdpError('KDP_ERR_BENCH_UNAVAILABLE', `callgrind: ${missing}`);
    const name = String(axes.params?.case);
    const hotPath = findCase(name);
    if (!hotPath) throw new KdpError('KDP_ERR_BENCH_VARIANT', `callgrind: no case "${name}"`);
    const why = hotPath.unavailable?.();
    if (why) throw new KdpError('KDP_ERR_BENCH_UNAVAILABLE', `callgrind ${name}: ${why}`);
    const iterations = hotPath.callgrindOps;
    const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-callgrind-'));
    try {
      const bundle = join(dir, 'entry.mjs');
      await build({
        entryPoints: [join(import.meta.dirname, 'callgrind-entry.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: bundle,
        // CommonJS packages in an ESM bundle call require (yaml requires 'process').
        banner: {
          js: "import { createRequire as kdpCreateRequire } from 'node:module'; const require = kdpCreateRequire(import.meta.url);",
        },
        logLevel: 'silent',
      });
      const count = (n: number, signal?: AbortSignal) => instructions(dir, [bundle, name, String(n)], signal);
      const base = await count(iterations, options.signal);
      options.log?.(`callgrind ${name}: ${base} instructions for start-up, preparation and warm-up`);
      return {
        async trial(signal?: AbortSignal): Promise<TrialValue[]> {
          const total = await count(2 * iterations, signal);
          return [
            {
              name: 'instructions',
              unit: 'instructions/op',
              better: 'lower',
              value: (total - base) / (iterations * (hotPath.opsPerCall ?? 1)),
            },
          ];
        },
        async close() {
          rmSync(dir, { recursive: true, force: true });
        },
      } satisfies WorkloadInstance;
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  },
};

/** Instructions of `node <args>` under callgrind (all threads), from its output file's totals. */
async function instructions(dir: string, args: string[], signal?: AbortSignal): Promise<number> {
  const out = join(dir, 'callgrind.out');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const argv = [
    '--tool=callgrind',
    `--callgrind-out-file=${out}.%p`,
    process.execPath,
    ...NODE_FLAGS,
    ...args,
  ];
  const [command, ...prefix] = launcher();
  try {
    await promisify(execFile)(command!, [...prefix, ...argv, NATIVE_ADDON_PATH], {
      env,
      signal,
      timeout: TIMEOUT_MS,
    });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '').slice(-1500);
    throw new KdpError(
      'KDP_ERR_BENCH_TOOL',
      `valgrind --tool=callgrind node ${args.join(' ')} failed: ${stderr}`,
      {
        cause: e,
      },
    );
  }
  let total = 0;
  for (const f of readdirSync(dir).filter((f) => f.startsWith('callgrind.out.'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    rmSync(join(dir, f));
    const m = /^(?:totals|summary): (\d+)/m.exec(text);
    if (!m) throw new KdpError('KDP_ERR_BENCH_TOOL', `callgrind wrote no totals in ${f}`);
    total += Number(m[1]);
  }
  if (total === 0) throw new KdpError('KDP_ERR_BENCH_TOOL', 'callgrind wrote no output file');
  return total;
}
