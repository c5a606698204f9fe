/**
 * What `kdp bench` runs: a suite preset, narrowed or widened by flags, checked against what
 * this build knows (the catalog: proxy modes, overlay backends with their engine variants, paths,
 * data and control workloads). Every bad flag fails before anything is built, with a message that
 * lists the valid values. Pure: the catalog comes from the caller, so tests need no registries.
 */
import { KdpError } from '../../dataplane/errors.ts';
import { type HostLimits, parseServicesFlag, servicesLimit } from './services-axis.ts';

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
  /** Data workloads whose cells repeat at every background-Services size (new connections). */
  scalingWorkloads?: string[];
  /** What the host can hold (the --services sizes are checked against it); default: no limit. */
  host?: HostLimits;
}

export interface MatrixSpec {
  /** The preset, or "custom" once an axis flag changed it. */
  suite: string;
  modes: string[];
  backends: string[];
  paths: string[];
  dataWorkloads: string[];
  controlWorkloads: string[];
  /**
   * Background Services programmed besides the measured ones, ascending; [0] is no axis. Data
   * cells of scaling workloads repeat at every size, the others run at the first.
   */
  services?: number[];
  /** Default DEFAULT_ENDPOINTS_PER_SERVICE. */
  endpointsPerService?: number;
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
  services?: string;
  endpointsPerService?: string;
}

const usage = (message: string) => new KdpError(BENCH_USAGE_ERROR, message);

/** 'none' runs no proxier: Services are not programmed, so it is no mode to compare by default. */
const comparableModes = (c: Catalog) => c.modes.filter((m) => m !== 'none');
const STANDARD = ['tcp-stream-1', 'tcp-rr', 'http'];
const SHORT_PATHS = ['pod-pod-cross-node', 'pod-clusterip'];
/** The default comparison: established-flow throughput and latency, and the new-connection rates. */
const COMPARISON = ['tcp-stream-1', 'tcp-rr', 'tcp-crr', 'udp-new-flow'];
/**
 * The default comparison's two sizes (10k does not fit its 10-minute budget on a shared 2-core
 * machine: growing a cluster to 10k Services alone took minutes there), and the full suite's
 * (sizes the host cannot hold are dropped).
 */
export const DEFAULT_SERVICES = [0, 1_000];
export const FULL_SERVICES = [0, 1_000, 10_000, 30_000];
export const DEFAULT_ENDPOINTS_PER_SERVICE = 10;
const NO_LIMITS: HostLimits = { memoryAvailableBytes: Number.POSITIVE_INFINITY };
const NO_AXIS = { services: [0], endpointsPerService: DEFAULT_ENDPOINTS_PER_SERVICE };

/** Each preset from the catalog; see docs/BENCHMARKS.md for what each is for. */
export function suitePreset(suite: Suite, c: Catalog): Omit<MatrixSpec, 'suite' | 'seed'> {
  const none = { dataWorkloads: [], paths: [], backends: [] };
  switch (suite) {
    case 'default':
      // Direct pod-to-pod next to the ClusterIP: the reference every mode is a ratio of.
      return {
        ...{
          modes: comparableModes(c),
          backends: ['host-gw'],
          paths: SHORT_PATHS,
          dataWorkloads: COMPARISON,
        },
        ...{ controlWorkloads: [], trials: 5, warmup: 1, seconds: 2, quick: false },
        ...{ services: DEFAULT_SERVICES, endpointsPerService: DEFAULT_ENDPOINTS_PER_SERVICE },
      };
    case 'smoke':
      return {
        ...{ modes: ['iptables'], backends: ['host-gw'], paths: SHORT_PATHS, dataWorkloads: STANDARD },
        // callgrind runs the engine under valgrind for tens of seconds a trial: not a smoke test.
        ...{ controlWorkloads: c.controlWorkloads.filter((w) => w !== 'callgrind'), trials: 2, warmup: 0 },
        ...{ seconds: 1, quick: true, ...NO_AXIS },
      };
    case 'ci':
      return {
        ...{ modes: ['iptables'], backends: ['host-gw'], paths: SHORT_PATHS, dataWorkloads: STANDARD },
        ...{ controlWorkloads: [], trials: 8, warmup: 1, seconds: 2, quick: false, ...NO_AXIS },
      };
    case 'overlay':
      return {
        ...{ modes: ['iptables'], backends: c.backends, paths: ['pod-pod-cross-node'] },
        ...{ dataWorkloads: ['tcp-stream-1', 'tcp-stream-4', 'tcp-rr', 'udp-pps'], controlWorkloads: [] },
        ...{ trials: 5, warmup: 1, seconds: 5, quick: false, ...NO_AXIS },
      };
    case 'control':
      return {
        ...{ ...none, modes: comparableModes(c), controlWorkloads: c.controlWorkloads },
        ...{ trials: 5, warmup: 1, seconds: 3, quick: false, ...NO_AXIS },
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
        // 30k where memory allows: a preset drops the sizes this host cannot hold.
        services: FULL_SERVICES.filter(
          (n) => servicesLimit(n, DEFAULT_ENDPOINTS_PER_SERVICE, c.host ?? NO_LIMITS) === undefined,
        ),
        endpointsPerService: DEFAULT_ENDPOINTS_PER_SERVICE,
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
  spec.endpointsPerService =
    integer('endpoints-per-service', flags.endpointsPerService, 1, 1000) ?? spec.endpointsPerService;
  if (flags.services !== undefined)
    spec.services = parseServicesFlag(
      flags.services,
      spec.endpointsPerService ?? DEFAULT_ENDPOINTS_PER_SERVICE,
      catalog.host ?? NO_LIMITS,
    );
  const axisFlags = [flags.modes, flags.backends, flags.paths, flags.workloads, flags.services];
  if (axisFlags.some((f) => f !== undefined)) spec.suite = 'custom';
  spec.trials = integer('trials', flags.trials, 1, 1000) ?? spec.trials;
  spec.warmup = integer('warmup', flags.warmup, 0, 100) ?? spec.warmup;
  spec.seconds = integer('seconds', flags.seconds, 1, 3600) ?? spec.seconds;
  spec.seed = integer('seed', flags.seed, 0, 2 ** 32 - 1) ?? spec.seed;
  if (spec.dataWorkloads.length === 0 && spec.controlWorkloads.length === 0)
    throw usage(`suite "${spec.suite}" selects no workloads (this build has none of its kind)`);
  return spec;
}
