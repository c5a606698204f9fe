/**
 * A read-only snapshot of the host's root network namespace, and a diff of two, for integration
 * tests that must prove they left the host untouched: links, addresses, routes (v4 and v6, all
 * tables), policy rules, netns ids, iptables (nft and legacy backends, v4 and v6), the nft
 * ruleset, and every readable net.* sysctl. Values that change on their own (counters, address
 * lifetimes, route expiry, the conntrack count) are normalised or left out so that two snapshots
 * of an idle host compare equal. Only reads: no command here changes anything.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RootSnapshot {
  /** Section name -> normalised text. */
  sections: Record<string, string>;
}

interface Source {
  name: string;
  argv: string[];
  normalise?: (text: string) => string;
}

const lifetimes = (t: string) =>
  t.replace(/(valid_lft|preferred_lft) \d+sec/g, '$1 N').replace(/expires \d+sec/g, 'expires N');
const iptablesSave = (t: string) =>
  t
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\[\d+:\d+\]/g, '[0:0]');
const nftRules = (t: string) =>
  t.replace(/counter packets \d+ bytes \d+/g, 'counter').replace(/(expires|timeout) [\dhms.]+/g, '$1 N');

const SOURCES: Source[] = [
  { name: 'ip -d link', argv: ['ip', '-d', 'link', 'show'] },
  { name: 'ip addr', argv: ['ip', 'addr', 'show'], normalise: lifetimes },
  { name: 'ip route', argv: ['ip', 'route', 'show', 'table', 'all'] },
  { name: 'ip -6 route', argv: ['ip', '-6', 'route', 'show', 'table', 'all'], normalise: lifetimes },
  { name: 'ip rule', argv: ['ip', 'rule', 'show'] },
  { name: 'ip -6 rule', argv: ['ip', '-6', 'rule', 'show'] },
  { name: 'ip netns list-id', argv: ['ip', 'netns', 'list-id'] },
  { name: 'iptables-save', argv: ['iptables-save'], normalise: iptablesSave },
  { name: 'ip6tables-save', argv: ['ip6tables-save'], normalise: iptablesSave },
  { name: 'iptables-legacy-save', argv: ['iptables-legacy-save'], normalise: iptablesSave },
  { name: 'ip6tables-legacy-save', argv: ['ip6tables-legacy-save'], normalise: iptablesSave },
  { name: 'nft list ruleset', argv: ['nft', 'list', 'ruleset'], normalise: nftRules },
];

/** Sysctls that change without anyone configuring anything. */
const VOLATILE_SYSCTLS = [/^net\.netfilter\.nf_conntrack_count$/, /^net\.ipv4\.tcp_fastopen_key$/];

async function source(s: Source): Promise<string> {
  try {
    const { stdout } = await run(s.argv[0], s.argv.slice(1), { maxBuffer: 64 * 1024 * 1024 });
    return (s.normalise ?? ((t) => t))(stdout);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    // A tool this host lacks has nothing to compare; its absence is recorded, not an error.
    if (err.code === 'ENOENT') return '(not installed)';
    return `(failed: ${(err.stderr ?? err.message).trim()})`;
  }
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
  );
  return nested.flat();
}

async function sysctls(): Promise<string> {
  const files = (await walk('/proc/sys/net')).sort();
  const lines = await Promise.all(
    files.map(async (file) => {
      const key = file.slice('/proc/sys/'.length).replaceAll('/', '.');
      if (VOLATILE_SYSCTLS.some((re) => re.test(key))) return undefined;
      try {
        return `${key} = ${(await readFile(file, 'utf8')).trim().replace(/\s+/g, ' ')}`;
      } catch {
        return undefined; // write-only (route.flush) or unreadable (stable_secret unset)
      }
    }),
  );
  return lines.filter((l) => l !== undefined).join('\n');
}

export async function snapshotRoot(): Promise<RootSnapshot> {
  const texts = await Promise.all(SOURCES.map(source));
  const sections: Record<string, string> = {};
  SOURCES.forEach((s, i) => (sections[s.name] = texts[i]));
  sections['sysctl net.*'] = await sysctls();
  return { sections };
}

/** Lines that differ, per section: `-` only before, `+` only after. Empty when identical. */
export function diffSnapshots(before: RootSnapshot, after: RootSnapshot): string[] {
  const out: string[] = [];
  const names = new Set([...Object.keys(before.sections), ...Object.keys(after.sections)]);
  for (const name of names) {
    const a = (before.sections[name] ?? '').split('\n');
    const b = (after.sections[name] ?? '').split('\n');
    const inA = new Set(a);
    const inB = new Set(b);
    const removed = a.filter((l) => !inB.has(l)).map((l) => `- ${l}`);
    const added = b.filter((l) => !inA.has(l)).map((l) => `+ ${l}`);
    if (removed.length || added.length) out.push(`[${name}]`, ...removed, ...added);
  }
  return out;
}
