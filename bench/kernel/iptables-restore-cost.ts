/**
 * Cost of iptables-restore for a kube-proxy-shaped ruleset (10 endpoints per service) in a
 * throwaway kdp namespace, real kernel against the fake, full and one-service partial restores;
 * the measurement behind dataplane/kernel/README.md's iptables table.
 *
 *   (as root) node --import tsx bench/kernel/iptables-restore-cost.ts SERVICES [--noflush]
 */
import { createIproute2Kernel } from '../../dataplane/kernel/iproute2/kernel.ts';
import { createIptables } from '../../dataplane/kernel/iptables/iptables.ts';
import { FakeIptables } from '../../dataplane/kernel/testing/fake-iptables.ts';
import { KUBE_PROXY_JUMPS, kubeShapedPayload } from '../../dataplane/kernel/testing/iptables-kube-shape.ts';

const services = Number(process.argv[2] ?? 1000);
const noflush = process.argv.includes('--noflush');
const prefix = `kdp-m${process.pid}-`;
const kernel = createIproute2Kernel({ prefix });
const payload = kubeShapedPayload({ services, endpointsPerService: 10 });
// One service's KUBE-SVC and KUBE-SEP chains again, as a partial sync writes them.
const mine = payload.split('\n').filter((l) => l.startsWith('-A KUBE-S') && l.includes('/svc7:'));
const chains = [...new Set(mine.map((l) => l.split(' ')[1]))].filter((c) => c !== 'KUBE-SERVICES');
const partial = [
  '*nat',
  ...chains.map((c) => `:${c} - [0:0]`),
  ...mine.filter((l) => chains.includes(l.split(' ')[1])),
  'COMMIT',
  '',
].join('\n');
const rules = payload.split('\n').filter((l) => l.startsWith('-A')).length;
console.log(
  `${services} services x 10 endpoints: ${rules} rules, ${(payload.length / 1e6).toFixed(1)} MB, full restore ${noflush ? 'with' : 'without'} --noflush`,
);
const timed = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return `${((performance.now() - t) / 1000).toFixed(2)} s`;
};
try {
  for (const backend of ['nft', 'legacy'] as const) {
    const ns = `${prefix}${backend}`;
    await kernel.netns.create(ns);
    const ipt = createIptables({ prefix, backend });
    const full = await timed(() => ipt.restore(ns, payload, { noflush, timeoutMs: 900_000 }));
    const again = await timed(() => ipt.restore(ns, payload, { noflush, timeoutMs: 900_000 }));
    const jumps = await timed(() => ipt.ensureJumps(ns, KUBE_PROXY_JUMPS));
    const one = await timed(() => ipt.restore(ns, partial, { noflush: true }));
    const save = await timed(() => ipt.save(ns, 'nat'));
    console.log(
      `${backend}: full ${full}, again ${again}, ensureJumps ${jumps}, one service --noflush ${one}, save -t nat ${save}`,
    );
    await kernel.netns.delete(ns);
  }
  const fake = new FakeIptables({ prefix });
  const full = await timed(() => fake.restore(`${prefix}fake`, payload, { noflush }));
  const one = await timed(() => fake.restore(`${prefix}fake`, partial, { noflush: true }));
  console.log(`fake: full ${full}, one service --noflush ${one}`);
} finally {
  await kernel.netns.deleteMany(await kernel.netns.list(prefix));
}
