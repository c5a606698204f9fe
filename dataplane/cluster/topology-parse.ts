/**
 * A topology from the two places users write one outside TypeScript: command-line flags
 * (`--nodes 3 --pods-per-node 4`, also `--nodes=3`) and a YAML file with the TopologyInput
 * fields. Both produce a raw TopologyInput (so a CLI can lay flags over a file) and hand it to
 * resolveTopology, which reports bad values; problems of the text itself (an unknown flag, a
 * flag without a value, YAML that does not parse) are KDP_ERR_TOPOLOGY_INVALID too.
 */
import { parse as parseYaml } from 'yaml';
import { resolveTopology, show, topologyError, type Topology, type TopologyInput } from './topology.ts';

/** Flag name -> TopologyInput field, and whether its value is a number. */
const FLAGS: Record<string, { field: keyof TopologyInput; numeric: boolean }> = {
  '--cluster': { field: 'cluster', numeric: false },
  '--nodes': { field: 'nodes', numeric: true },
  '--pods-per-node': { field: 'podsPerNode', numeric: true },
  '--underlay-cidr': { field: 'underlayCidr', numeric: false },
  '--pod-cidr': { field: 'podCidr', numeric: false },
  '--node-cidr-mask-size': { field: 'nodeCidrMaskSize', numeric: true },
  '--service-cidr': { field: 'serviceCidr', numeric: false },
  '--node-port-range': { field: 'nodePortRange', numeric: false },
  '--mtu': { field: 'mtu', numeric: true },
  '--proxy-mode': { field: 'proxyMode', numeric: false },
  '--overlay': { field: 'overlay', numeric: false },
};

export const TOPOLOGY_FLAGS = Object.keys(FLAGS);

/** "3" -> 3; anything else stays a string, so validation can say what was given. */
function numberOrText(text: string): number | string {
  return /^-?\d+$/.test(text.trim()) ? Number(text) : text;
}

/**
 * Topology fields from options a CLI parser (commander) already split, keyed by field name
 * (`{ nodes: '3', podsPerNode: '4' }`); undefined values are left out so defaults apply.
 */
export function topologyInputFromOptions(options: Readonly<Record<string, unknown>>): TopologyInput {
  const out: Record<string, unknown> = {};
  for (const { field, numeric } of Object.values(FLAGS)) {
    const v = options[field];
    if (v === undefined) continue;
    out[field] = numeric && typeof v === 'string' ? numberOrText(v) : v;
  }
  return out as TopologyInput;
}

/** Parses topology flags out of argv; every argument must be one of TOPOLOGY_FLAGS with a value. */
export function parseTopologyFlags(argv: readonly string[]): TopologyInput {
  const options: Record<string, string> = {};
  const problems: { field: string; message: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[flag];
    if (!spec) {
      problems.push({ field: flag, message: `unknown flag (known: ${TOPOLOGY_FLAGS.join(', ')})` });
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
    if (value === undefined) problems.push({ field: flag, message: 'needs a value' });
    else options[spec.field] = value;
  }
  if (problems.length > 0) throw topologyError(problems);
  return topologyInputFromOptions(options);
}

export function topologyFromFlags(argv: readonly string[]): Topology {
  return resolveTopology(parseTopologyFlags(argv));
}

/** The TopologyInput a YAML document holds (an empty document is an empty topology). */
export function parseTopologyYaml(text: string): TopologyInput {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw topologyError([{ field: '(yaml)', message: `does not parse: ${(e as Error).message}` }], e);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw topologyError([
      { field: '(yaml)', message: `must be a mapping of topology fields, got ${show(doc)}` },
    ]);
  }
  return doc as TopologyInput;
}

export function topologyFromYaml(text: string): Topology {
  return resolveTopology(parseTopologyYaml(text));
}
