/**
 * What one self-healing check of the iptables mode costs on the real kernel (docs/PERFORMANCE.md):
 * a proxier programs N services into a scratch kdp namespace with the chosen backend, then the
 * check (one `-C` restore of the hook jumps and fixed rules) runs `rounds` times; prints the
 * median and p90 wall time per check, and the full sync it replaces for comparison. Run as root:
 *   node --import tsx bench/kernel-check-cost.ts --backend nft --services 10000 --endpoints 2
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ClusterFeed, ep, slice, svc, thisNode } from '../dataplane/proxy/compliance/index.ts';
import { canaryRules } from '../dataplane/proxy/iptables/canary.ts';
import { createIptablesProxier } from '../dataplane/proxy/iptables/iptables-proxier.ts';
import { createIptables } from '../dataplane/kernel/iptables/iptables.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'nft' },
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '30' },
  },
});
const backend = values.backend === 'legacy' ? 'legacy' : 'nft';
const n = Number(values.services);
const m = Number(values.endpoints);
const ns = `kdp-bcheck-${process.pid}`;
execFileSync('ip', ['netns', 'add', ns]);
try {
  const proxier = createIptablesProxier({
    nodeName: 'node-a',
    netns: ns,
    clusterCIDR: '10.244.0.0/16',
    backend,
  });
  const feed = new ClusterFeed(proxier);
  proxier.onNodeAdd(thisNode());
  const services = [];
  const slices = [];
  for (let i = 0; i < n; i++) {
    services.push(svc(`s${i}`, `10.96.${(i + 1) >> 8}.${(i + 1) & 255}`));
    slices.push(
      slice(
        `s${i}`,
        Array.from({ length: m }, (_, j) => ep(`10.244.${2 + (j >> 8)}.${(j & 255) + 1}`)),
      ),
    );
  }
  feed.apply(services, slices);
  const t0 = performance.now();
  proxier.start();
  proxier.onServicesSynced();
  proxier.onEndpointSlicesSynced();
  while (!proxier.lastWrite) await new Promise((r) => setTimeout(r, 20));
  const fullMs = performance.now() - t0;
  await proxier.stop();
  const iptables = createIptables({ backend });
  const rules = canaryRules('0x4000', proxier.programmed.tail);
  const times: number[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    const s = performance.now();
    const missing = await iptables.checkRules(ns, rules);
    times.push(performance.now() - s);
    if (missing) throw new Error(`unexpected: ${JSON.stringify(missing)}`);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
  console.log(
    JSON.stringify({
      backend,
      services: n,
      endpoints: m,
      rounds: times.length,
      checkMedianMs: q(0.5),
      checkP90Ms: q(0.9),
      firstFullSyncMs: fullMs.toFixed(0),
    }),
  );
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
