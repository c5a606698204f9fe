/**
 * eBPF example: a per-pod packet and byte counter. One node, two pods; native/bpf/pod_counter.bpf.c
 * is loaded and attached at tc egress of pod "counted"'s eth0 (its end of the veth: everything the
 * pod sends passes there), where it counts IPv4 packets and bytes per source address in a per-CPU
 * hash. The pod pings the other pod N times; the scenario then reads the map from TypeScript, sums
 * the CPUs' values and prints what it counted for the pod's address: exactly N packets.
 *
 *   sudo kdp run scenarios/bpf-pod-counter.ts [--packets N] [--name CLUSTER]
 */
import { join } from 'node:path';
import { Cluster } from '../dataplane/cluster/cluster.ts';
import { ipv4, struct, u64 } from '../dataplane/ebpf/codec.ts';
import { BPF_OBJECT_DIR } from '../dataplane/ebpf/native.ts';

const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const packets = Number(flag('--packets') ?? 20);
if (!Number.isInteger(packets) || packets < 1 || packets > 10_000) {
  console.error('--packets: a whole number from 1 to 10000');
  process.exit(2);
}
const name = flag('--name') ?? 'bpf-counter';

await using cluster = await Cluster.create(
  { cluster: name, nodes: 1, podsPerNode: 0 },
  { onProgress: (p) => console.error(`[${(p.elapsedMs / 1000).toFixed(1)}s] ${p.message}`) },
);
const [counted, peer] = await Promise.all([
  cluster.addPod('counted', { image: 'kdp/pause', node: 'node-1' }),
  cluster.addPod('peer', { image: 'kdp/pause', node: 'node-1' }),
]);
const podIP = counted.status!.podIP!;
const peerIP = peer.status!.podIP!;

// The object and its map, typed: the codecs are checked against the object's BTF here.
const obj = cluster.bpf.load(join(BPF_OBJECT_DIR, 'pod_counter.bpf.o'));
const stats = obj.perCpuMap('pod_stats', ipv4, struct({ packets: u64, bytes: u64 }));
const link = cluster.bpf.attachTc(obj.program('count_pod'), { pod: 'counted' }, { direction: 'egress' });
console.log(`attached ${link.description}`);

const ping = await cluster.exec('counted', [
  'ping',
  '-n',
  '-q',
  '-c',
  String(packets),
  '-i',
  '0.01',
  '-W',
  '2',
  peerIP,
]);
if (ping.code !== 0) throw new Error(`ping failed (status ${ping.code}): ${ping.stdout}${ping.stderr}`);

const perCpu = stats.lookup(podIP) ?? [];
const total = perCpu.reduce((a, v) => ({ packets: a.packets + v.packets, bytes: a.bytes + v.bytes }), {
  packets: 0n,
  bytes: 0n,
});
console.log(
  `pod counted (${podIP}) sent ${total.packets} IPv4 packets, ${total.bytes} bytes ` +
    `(ping sent ${packets} echo requests to ${peerIP}; counted at tc egress of its eth0 by BPF)`,
);
for (const [addr, values] of stats.entries()) {
  const n = values.reduce((a, v) => a + v.packets, 0n);
  console.log(`  map pod_stats: ${addr} -> ${n} packets over ${values.length} CPUs`);
}
link.close();
if (total.packets !== BigInt(packets)) process.exitCode = 1;
