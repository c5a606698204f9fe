/**
 * subnet.env, the file flanneld writes to /run/flannel/subnet.env for the flannel CNI plugin and
 * for people: the cluster network, this node's subnet as its gateway address with the subnet's
 * prefix, the MTU pods must use, and whether flannel masquerades (kdp never does). The agent
 * writes it into its state dir; written to a temporary file and renamed, so a reader never sees
 * half of it.
 */
import { rename, writeFile } from 'node:fs/promises';
import { nthAddress, parseIpv4Cidr } from '../kernel/cidr.ts';

export interface SubnetEnv {
  clusterCidr: string;
  podCidr: string;
  mtu: number;
}

export function subnetEnvText(env: SubnetEnv): string {
  const prefix = parseIpv4Cidr(env.podCidr)!.prefix;
  return [
    `FLANNEL_NETWORK=${env.clusterCidr}`,
    `FLANNEL_SUBNET=${nthAddress(env.podCidr, 1)}/${prefix}`,
    `FLANNEL_MTU=${env.mtu}`,
    'FLANNEL_IPMASQ=false',
    '',
  ].join('\n');
}

export async function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, subnetEnvText(env), { mode: 0o644 });
  await rename(tmp, path);
}
