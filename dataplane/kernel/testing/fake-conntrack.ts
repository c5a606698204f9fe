/**
 * FakeConntrack: a connection-tracking table per namespace that tests fill with entries (or
 * flows, which it turns into entries as the kernel would, DNAT included) and a record of every
 * call, so a proxier's unit tests can assert which stale entries it deleted and that the
 * entries of live endpoints stayed. Filters are checked and matched exactly as the real
 * implementation passes them to conntrack(8) (../conntrack/filter.ts).
 */
import { checkFilter, entryMatches, filterArgs } from '../conntrack/filter.ts';
import type {
  Conntrack,
  ConntrackEntry,
  ConntrackFilter,
  ConntrackProtocol,
} from '../conntrack/interface.ts';
import { KDP_NAMESPACE_PREFIX, assertPrefix } from '../name-checks.ts';
import type { FakeKernel } from './fake-kernel.ts';
import { checkFakeNamespace } from './fake-namespace.ts';
import { ConntrackShorthands } from '../conntrack/shorthands.ts';

export interface FakeConntrackOptions {
  prefix?: string;
  /** When given, namespaces must exist in it. */
  kernel?: FakeKernel;
}

/** A connection as a test describes it; `dnat` is where the proxy sent it ('ip:port'). */
export interface FakeFlow {
  protocol: ConntrackProtocol;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  dnat?: string;
}

export interface FakeConntrackCall {
  method: 'delete' | 'list';
  ns: string;
  filter: ConntrackFilter;
  /** The conntrack(8) arguments the real implementation runs for this call. */
  args: string[];
  /** Entries deleted (delete) or returned (list). */
  count: number;
}

export class FakeConntrack extends ConntrackShorthands implements Conntrack {
  readonly prefix: string;
  readonly calls: FakeConntrackCall[] = [];
  private readonly tables = new Map<string, ConntrackEntry[]>();

  constructor(private readonly options: FakeConntrackOptions = {}) {
    super();
    this.prefix = options.prefix ?? KDP_NAMESPACE_PREFIX;
    assertPrefix(this.prefix);
  }

  private table(ns: string, operation: string): ConntrackEntry[] {
    checkFakeNamespace(ns, operation, {
      prefix: this.prefix,
      namespaces: this.options.kernel?.state.namespaces,
      tool: 'nsenter',
    });
    let t = this.tables.get(ns);
    if (!t) this.tables.set(ns, (t = []));
    return t;
  }

  /** Adds an entry as given. */
  add(ns: string, entry: ConntrackEntry): void {
    this.table(ns, 'conntrack -I').push(structuredClone(entry));
  }

  /** Adds the entry the kernel would make for `flow`: the reply comes from the DNAT target. */
  addFlow(ns: string, flow: FakeFlow): ConntrackEntry {
    const [replyIp, replyPort] = flow.dnat ? flow.dnat.split(':') : [flow.dst, String(flow.dport)];
    const entry: ConntrackEntry = {
      protocol: flow.protocol,
      timeout: flow.protocol === 'tcp' ? 431999 : 30,
      state: flow.protocol === 'tcp' ? 'ESTABLISHED' : undefined,
      original: { src: flow.src, dst: flow.dst, sport: flow.sport, dport: flow.dport },
      reply: { src: replyIp, dst: flow.src, sport: Number(replyPort), dport: flow.sport },
      flags: flow.protocol === 'tcp' ? ['ASSURED'] : ['UNREPLIED'],
      mark: 0,
    };
    this.add(ns, entry);
    return entry;
  }

  /** Every entry of a namespace, without recording a call. */
  entries(ns: string): ConntrackEntry[] {
    return structuredClone(this.table(ns, 'conntrack -L'));
  }

  callsOf(method: FakeConntrackCall['method']): FakeConntrackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async delete(ns: string, filter: ConntrackFilter): Promise<number> {
    const args = ['-D', ...filterArgs(filter)];
    const operation = `conntrack ${args.join(' ')}`;
    const t = this.table(ns, operation);
    checkFilter(filter, operation, ns, true);
    const kept = t.filter((e) => !entryMatches(e, filter));
    const count = t.length - kept.length;
    t.splice(0, t.length, ...kept);
    this.calls.push({ method: 'delete', ns, filter: { ...filter }, args, count });
    return count;
  }

  async list(ns: string, filter: ConntrackFilter = {}): Promise<ConntrackEntry[]> {
    const args = ['-L', ...filterArgs(filter)];
    const operation = `conntrack ${args.join(' ')}`;
    const t = this.table(ns, operation);
    checkFilter(filter, operation, ns, false);
    const found = t.filter((e) => entryMatches(e, filter)).map((e) => structuredClone(e));
    this.calls.push({ method: 'list', ns, filter: { ...filter }, args, count: found.length });
    return found;
  }
}
