/**
 * The FakeKernel's addresses and permanent neighbour entries, with the kernel's rules: the link
 * must exist, an address is refused twice on a link, a neighbour entry twice for add (replace
 * overwrites it), and deleting what is not there is refused.
 */
import { KERNEL_ERR } from '../errors.ts';
import type { NetOp } from '../types.ts';
import { type FakeNamespace, kernelFail, linkOf } from './fake-namespace.ts';

export type AddressOp = Extract<
  NetOp,
  { kind: 'addr.add' | 'addr.delete' | 'neigh.add' | 'neigh.replace' | 'neigh.delete' }
>;

const ADDRESS_OPS = new Set<string>([
  'addr.add',
  'addr.delete',
  'neigh.add',
  'neigh.replace',
  'neigh.delete',
]);

export function isAddressOp(op: NetOp): op is AddressOp {
  return ADDRESS_OPS.has(op.kind);
}

function findNeighbour(ns: FakeNamespace, ip: string, dev: string): number {
  return ns.neighbours.findIndex((n) => n.ip === ip && n.dev === dev);
}

/** Validates and applies one address or neighbour operation in `ns`. */
export function applyAddressOp(ns: FakeNamespace, op: AddressOp, operation: string): void {
  switch (op.kind) {
    case 'addr.add':
      linkOf(ns, op.dev, operation);
      if (ns.addresses.some((a) => a.dev === op.dev && a.cidr.split('/')[0] === op.cidr.split('/')[0]))
        kernelFail(KERNEL_ERR.exists, 'ipv4: Address already assigned.', operation, ns.name);
      ns.addresses.push({ dev: op.dev, cidr: op.cidr });
      return;
    case 'addr.delete': {
      linkOf(ns, op.dev, operation);
      const i = ns.addresses.findIndex((a) => a.dev === op.dev && a.cidr === op.cidr);
      if (i < 0) kernelFail(KERNEL_ERR.notFound, 'ipv4: Address not found.', operation, ns.name);
      ns.addresses.splice(i, 1);
      return;
    }
    case 'neigh.add':
    case 'neigh.replace': {
      linkOf(ns, op.neigh.dev, operation);
      const i = findNeighbour(ns, op.neigh.ip, op.neigh.dev);
      if (i >= 0 && op.kind === 'neigh.add') kernelFail(KERNEL_ERR.exists, 'File exists', operation, ns.name);
      const entry = { ip: op.neigh.ip, dev: op.neigh.dev, lladdr: op.neigh.lladdr, state: 'permanent' };
      if (i >= 0) ns.neighbours[i] = entry;
      else ns.neighbours.push(entry);
      return;
    }
    case 'neigh.delete': {
      linkOf(ns, op.neigh.dev, operation);
      const i = findNeighbour(ns, op.neigh.ip, op.neigh.dev);
      if (i < 0) kernelFail(KERNEL_ERR.notFound, 'No such file or directory', operation, ns.name);
      ns.neighbours.splice(i, 1);
      return;
    }
  }
}
