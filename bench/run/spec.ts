/**
 * What `kdp bench` runs: a suite preset, narrowed or widened by flags, checked against what
 * this build knows (the catalog: proxy modes, overlay backends with their engine variants, paths,
 * data and control workloads). Every bad flag fails before anything is built, with a message that
 * lists the valid values. Pure: the catalog comes from the caller, so tests need no registries.
 */
import { KdpError } from '../../dataplane/errors.ts';

export const BENCH_USAGE_ERROR = 'KDP_ERR_USAGE';

export const SUITES = ['default', 'smoke', 'ci', 'overlay', 'control', 'full'] as const;
export type Suite = (typeof SUITES)[number];

/** The names this build knows, per axis. */
export interface Catalog {
  modes: string[];
  backends: string[];
  paths: string[];
  dataWorkloads: string[];
  controlWorkloads: string[];
}

export interface MatrixSpec {
  /** The preset, or "custom" once an axis flag changed it. */
  suite: string;
  modes: string[];
  backends: string[];
  paths: string[];
  dataWorkloads: string[];
  controlWorkloads: string[];
  trials: number;
  warmup: number;
  seconds: number;
  seed: number;
  /** Smaller sizes (the smoke suite). */
  quick: boolean;
}

/** The flags as commander hands them over (strings, comma lists). */
export interface BenchFlags {
  suite?: string;
  modes?: string;
  backends?: string;
  paths?: string;
  workloads?: string;
  trials?: string;
  warmup?: string;
  seconds?: string;
  seed?: string;
}

const usage = (message: string) => new KdpError(BENCH_USAGE_ERROR, message);

/** 'none' runs no proxier: Services are not programmed, so it is no mode to compare by default. */
const comparableModes = (c: Catalog) => c.modes.filter((m) => m !== 'none');
const STANDARD = ['tcp-stream-1', 'tcp-rr', 'http'];
const SHORT_PATHS = ['pod-pod-cross-node', 'pod-clusterip'];

/** Each preset from the catalog; see docs/BENCHMARKS.md for what each is for. */
export function suitePreset(suite: Suite, c: Catalog): Omit<MatrixSpec, 'suite' | 'seed'> {
  const none = { dataWorkloads: [], paths: [], backends: [] };
  switch (suite) {
    case 'default':
      return {
        ...{ modes: comparableModes(c), backends: ['host-gw'], paths: c.paths, dataWorkloads: STANDARD },
        ...{ controlWorkloads: [], trials: 5, warmup: 1, seconds: 3, quick: false },
      };
    case 'smoke':
      return {
        ...{ modes: ['iptables'], backends: ['host-gw'], paths: SHORT_PATHS, dataWorkloads: STANDARD },
        // callgrind runs the engine under valgrind for tens of seconds a trial: not a smoke test.
        ...{ controlWorkloads: c.controlWorkloads.filter((w) => w !== 'callgrind'), trials: 2, warmup: 0 },
        ...{ seconds: 1, quick: true },
      };
    case 'ci':
      return {
        ...{ modes: ['iptables'], backends: ['host-gw'], paths: SHORT_PATHS, dataWorkloads: STANDARD },
        ...{ controlWorkloads: [], trials: 8, warmup: 1, seconds: 2, quick: false },
      };
    case 'overlay':
      return {
        ...{ modes: ['iptables'], backends: c.backends, paths: ['pod-pod-cross-node'] },
        ...{ dataWorkloads: ['tcp-stream-1', 'tcp-stream-4', 'tcp-rr', 'udp-pps'], controlWorkloads: [] },
        ...{ trials: 5, warmup: 1, seconds: 5, quick: false },
      };
    case 'control':
      return {
        ...{ ...none, modes: comparableModes(c), controlWorkloads: c.controlWorkloads },
        ...{ trials: 5, warmup: 1, seconds: 3, quick: false },
      };
    case 'full':
      return {
        ...{
          modes: comparableModes(c),
          backends: c.backends,
          paths: c.paths,
          dataWorkloads: c.dataWorkloads,
        },
        ...{ controlWorkloads: c.controlWorkloads, trials: 10, warmup: 2, seconds: 5, quick: false },
      };
  }
}

function list(flag: string, value: string, valid: string[]): string[] {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0) throw usage(`--${flag} needs at least one name: ${valid.join(', ')}`);
  const unknown = names.filter((n) => !valid.includes(n));
  if (unknown.length > 0) {
    const what = unknown.map((n) => `"${n}"`).join(', ');
    throw usage(`--${flag}: unknown ${what}; valid: ${valid.join(', ') || '(none in this build)'}`);
  }
  return names;
}

function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw usage(`--${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

/** The spec the flags ask for; throws KDP_ERR_USAGE naming the flag and the valid values. */
export function resolveSpec(flags: BenchFlags, catalog: Catalog): MatrixSpec {
  const suiteName = flags.suite ?? 'default';
  if (!(SUITES as readonly string[]).includes(suiteName))
    throw usage(`--suite: unknown "${suiteName}"; valid: ${SUITES.join(', ')}`);
  const preset = suitePreset(suiteName as Suite, catalog);
  // A preset names what a full build has; keep what this one knows.
  const known = (names: string[], valid: string[]) => names.filter((n) => valid.includes(n));
  const spec: MatrixSpec = {
    ...preset,
    suite: suiteName,
    seed: 1,
    modes: known(preset.modes, catalog.modes),
    backends: known(preset.backends, catalog.backends),
    paths: known(preset.paths, catalog.paths),
    dataWorkloads: known(preset.dataWorkloads, catalog.dataWorkloads),
    controlWorkloads: known(preset.controlWorkloads, catalog.controlWorkloads),
  };
  if (flags.modes !== undefined) spec.modes = list('modes', flags.modes, catalog.modes);
  if (flags.backends !== undefined) spec.backends = list('backends', flags.backends, catalog.backends);
  if (flags.paths !== undefined) spec.paths = list('paths', flags.paths, catalog.paths);
  if (flags.workloads !== undefined) {
    const all = [...catalog.dataWorkloads, ...catalog.controlWorkloads];
    const names = list('workloads', flags.workloads, all);
    spec.dataWorkloads = names.filter((n) => catalog.dataWorkloads.includes(n));
    spec.controlWorkloads = names.filter((n) => catalog.controlWorkloads.includes(n));
  }
  // Data workloads selected on a suite without data axes (control): run them on the defaults.
  if (spec.dataWorkloads.length > 0) {
    if (spec.paths.length === 0) spec.paths = catalog.paths;
    if (spec.backends.length === 0) spec.backends = ['host-gw'];
  }
  const axisFlags = [flags.modes, flags.backends, flags.paths, flags.workloads];
  if (axisFlags.some((f) => f !== undefined)) spec.suite = 'custom';
  spec.trials = integer('trials', flags.trials, 1, 1000) ?? spec.trials;
  spec.warmup = integer('warmup', flags.warmup, 0, 100) ?? spec.warmup;
  spec.seconds = integer('seconds', flags.seconds, 1, 3600) ?? spec.seconds;
  spec.seed = integer('seed', flags.seed, 0, 2 ** 32 - 1) ?? spec.seed;
  if (spec.dataWorkloads.length === 0 && spec.controlWorkloads.length === 0)
    throw usage(`suite "${spec.suite}" selects no workloads (this build has none of its kind)`);
  return spec;
}
