/**
 * The scenario API (`cluster.bpf`): load a user's own BPF object and attach its programs to a pod
 * or node of the cluster by name, every target held to the cluster's own namespaces (prefix
 * kdp-<cluster>-) and cgroup subtree (/sys/fs/cgroup/unified/kdp/<cluster>/). Objects and links
 * are tracked and released by close(), which the cluster calls when it goes down, together with
 * the cluster's cgroups.
 */
import { KdpError } from '../errors.ts';
import { NODE_UPLINK, POD_INTERFACE, clusterPrefix } from './topology-names.ts';
import { createCgroup, kdpCgroupPath, removeClusterCgroups } from '../ebpf/cgroup.ts';
import { BPF_ERR } from '../ebpf/errors.ts';
import {
  attachCgroup,
  attachTc,
  attachXdp,
  type BpfLink,
  type CgroupHook,
  type TcOptions,
  type XdpOptions,
} from '../ebpf/links.ts';
import { BpfObject, type BpfProgram } from '../ebpf/object.ts';

/** What ClusterBpf needs of a cluster: its name and where its pods and nodes live. */
export interface BpfClusterView {
  readonly name: string;
  podNetns(ref: string): string;
  nodes(): readonly { name: string; netns: string }[];
}

/** A pod (its eth0 by default) or a node (its eth0 uplink by default), by name. */
export type BpfTarget = { pod: string; ifname?: string } | { node: string; ifname?: string };

export class ClusterBpf {
  readonly #objects = new Set<BpfObject>();
  readonly #links = new Set<BpfLink>();

  constructor(private readonly cluster: BpfClusterView) {}

  /** Opens and loads a BPF object (ELF from clang); released by close(). */
  load(path: string): BpfObject {
    const obj = BpfObject.load(path);
    this.#objects.add(obj);
    return obj;
  }

  attachTc(program: BpfProgram, target: BpfTarget, options: TcOptions): BpfLink {
    return this.#track(attachTc(program, this.#netdev(target), options));
  }

  attachXdp(program: BpfProgram, target: BpfTarget, options: XdpOptions): BpfLink {
    return this.#track(attachXdp(program, this.#netdev(target), options));
  }

  /** Creates (if needed) the cgroup kdp/<cluster>/<parts...> and returns its path. */
  cgroup(...parts: string[]): string {
    return createCgroup(this.cluster.name, ...parts);
  }

  /** Attaches to a cgroup inside this cluster's subtree only. */
  attachCgroup(program: BpfProgram, cgroup: string, hook: CgroupHook): BpfLink {
    return this.#track(attachCgroup(program, cgroup, hook, kdpCgroupPath(this.cluster.name)));
  }

  /** Detaches every link, closes every object, removes the cluster's cgroups. Idempotent. */
  async close(): Promise<void> {
    for (const l of this.#links) l.close();
    this.#links.clear();
    for (const o of this.#objects) o.close();
    this.#objects.clear();
    await removeClusterCgroups(this.cluster.name);
  }

  #track(link: BpfLink): BpfLink {
    this.#links.add(link);
    const close = link.close.bind(link);
    return Object.assign(link, {
      close: () => {
        this.#links.delete(link);
        close();
      },
    });
  }

  #netdev(target: BpfTarget): { namespace: string; ifname: string; prefix: string } {
    const prefix = clusterPrefix(this.cluster.name);
    if ('pod' in target) {
      return { namespace: this.cluster.podNetns(target.pod), ifname: target.ifname ?? POD_INTERFACE, prefix };
    }
    const nodes = this.cluster.nodes();
    const node = nodes.find((n) => n.name === target.node);
    if (!node) {
      const names = nodes.map((n) => n.name).join(', ');
      throw new KdpError(
        BPF_ERR.notFound,
        `no node "${target.node}" in cluster ${this.cluster.name} (nodes: ${names})`,
      );
    }
    return { namespace: node.netns, ifname: target.ifname ?? NODE_UPLINK, prefix };
  }
}
