/**
 * `kdp bpf`: a user's own BPF objects in a running cluster.
 *   kdp bpf inspect obj.o                     programs and maps (with BTF types) of an object
 *   kdp bpf attach --pod P --tc ingress obj.o:prog [--for S] [--maps]
 * attach loads the object, attaches the program to the pod's eth0 (or a node's, --node) inside
 * the cluster's own namespaces, and holds it until Ctrl-C or --for seconds pass: links live as long
 * as this process, so nothing stays attached after it ends, whatever way it ends. With --maps
 * it prints every map's entries (hex) before detaching.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { clusterPrefix, podNamespace } from '../../cluster/topology-names.ts';
import { bytes } from '../../ebpf/codec.ts';
import { attachTc, attachXdp, type BpfLink } from '../../ebpf/links.ts';
import { BpfObject } from '../../ebpf/object.ts';
import { KdpError } from '../../errors.ts';
import { netnsPath } from '../../kernel/name-checks.ts';
import { clusterName, requireRoot, withNameOption } from '../cluster-access.ts';
import { usageError } from '../usage.ts';

const PER_CPU = new Set([5, 6, 10, 21]);

function inspectCommand(): Command {
  return new Command('inspect')
    .description('list the programs and maps of a BPF object (no root needed)')
    .argument('<object>', 'ELF object compiled by clang -target bpf')
    .option('--json', 'print as JSON')
    .action((path: string, flags: { json?: boolean }) => {
      const obj = BpfObject.open(path);
      try {
        if (flags.json) {
          console.log(JSON.stringify({ programs: obj.programInfo, maps: obj.mapInfo }));
          return;
        }
        for (const p of obj.programInfo) console.log(`program ${p.name} (section ${p.section})`);
        for (const m of obj.mapInfo.filter((x) => !x.internal)) {
          const types =
            m.key || m.value
              ? ` key ${m.key?.typedef ?? m.key?.name ?? '?'} value ${m.value?.typedef ?? m.value?.name ?? '?'}`
              : '';
          console.log(
            `map ${m.name} type ${m.type} key ${m.keySize} B value ${m.valueSize} B max ${m.maxEntries}${types}`,
          );
        }
      } finally {
        obj.close();
      }
    });
}

interface AttachFlags {
  name?: string;
  pod?: string;
  node?: string;
  ifname?: string;
  tc?: string;
  xdp?: string;
  for?: string;
  maps?: boolean;
}

function attachCommand(): Command {
  return withNameOption(
    new Command('attach').description('attach a program of your own object to a pod or node until Ctrl-C'),
  )
    .argument('<object:program>', 'the object file and the program in it, e.g. counter.bpf.o:count')
    .option('--pod <pod>', 'NAME or NAMESPACE/NAME: its eth0 in the pod namespace')
    .option('--node <node>', "a node's interface (eth0, the uplink, unless --ifname)")
    .option('--ifname <ifname>', 'another interface in that namespace')
    .option('--tc <direction>', 'tc hook: ingress or egress (tcx; cls_bpf where the kernel has no tcx)')
    .option('--xdp <mode>', 'XDP: generic or driver')
    .option('--for <seconds>', 'detach after this many seconds instead of waiting for Ctrl-C')
    .option('--maps', "print every map's entries (hex) before detaching")
    .addHelpText(
      'after',
      '\nExample:\n  kdp bpf attach --pod pod-1-1 --tc ingress counter.bpf.o:count --for 10 --maps',
    )
    .action(async (spec: string, flags: AttachFlags) => {
      const colon = spec.lastIndexOf(':');
      if (colon <= 0 || colon === spec.length - 1) throw usageError(`"${spec}": give OBJECT:PROGRAM`);
      if (!flags.pod === !flags.node) throw usageError('give exactly one of --pod and --node');
      if (!flags.tc === !flags.xdp) throw usageError('give exactly one of --tc and --xdp');
      if (flags.tc && flags.tc !== 'ingress' && flags.tc !== 'egress')
        throw usageError('--tc: ingress or egress');
      if (flags.xdp && flags.xdp !== 'generic' && flags.xdp !== 'driver')
        throw usageError('--xdp: generic or driver');
      const seconds = flags.for === undefined ? undefined : Number(flags.for);
      if (seconds !== undefined && !(seconds > 0 && seconds <= 86_400))
        throw usageError('--for: seconds, up to 86400');
      const cluster = clusterName(flags);
      requireRoot('kdp bpf attach');
      const namespace = flags.pod ? podNs(cluster, flags.pod) : `${clusterPrefix(cluster)}${flags.node}`;
      if (!existsSync(netnsPath(namespace)))
        throw new KdpError(
          'KDP_ERR_NOT_FOUND',
          `no namespace ${namespace}: is the ${flags.pod ? 'pod' : 'node'} running in cluster "${cluster}"?`,
        );
      const target = { namespace, ifname: flags.ifname ?? 'eth0', prefix: clusterPrefix(cluster) };
      const obj = BpfObject.load(spec.slice(0, colon));
      let link: BpfLink | undefined;
      try {
        const program = obj.program(spec.slice(colon + 1));
        link = flags.tc
          ? attachTc(program, target, { direction: flags.tc as 'ingress' | 'egress' })
          : attachXdp(program, target, { mode: flags.xdp as 'generic' | 'driver' });
        console.log(`attached ${link.description}${link.id !== undefined ? ` (link ${link.id})` : ''}`);
        await untilDone(seconds);
        if (flags.maps) printMaps(obj);
      } finally {
        link?.close();
        obj.close();
      }
      console.log('detached');
    });
}

function podNs(cluster: string, ref: string): string {
  const slash = ref.indexOf('/');
  return slash < 0
    ? podNamespace(cluster, 'default', ref)
    : podNamespace(cluster, ref.slice(0, slash), ref.slice(slash + 1));
}

function untilDone(seconds: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    const timer = seconds === undefined ? setInterval(() => {}, 1 << 30) : setTimeout(done, seconds * 1000);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

function printMaps(obj: BpfObject): void {
  for (const m of obj.mapInfo) {
    if (m.internal || m.keySize === 0) continue;
    const key = bytes(m.keySize);
    const value = bytes(m.valueSize);
    const entries = PER_CPU.has(m.type)
      ? [...obj.perCpuMap(m.name, key, value).entries()].map(
          ([k, v]) => [k, v.map((x) => x.toString('hex')).join(' | ')] as const,
        )
      : [...obj.map(m.name, key, value).entries()].map(([k, v]) => [k, v.toString('hex')] as const);
    console.log(`map ${m.name}: ${entries.length} entries`);
    for (const [k, v] of entries) console.log(`  ${k.toString('hex')} -> ${v}`);
  }
}

export function bpfCommand(): Command {
  return new Command('bpf')
    .description('load your own BPF objects into a running cluster: inspect, attach')
    .addCommand(inspectCommand())
    .addCommand(attachCommand());
}
