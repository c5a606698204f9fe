/**
 * The real Iptables in throwaway kdp-t<random>- namespaces, both backends: a refused restore
 * names and quotes the line the tool blamed and leaves the table exactly as it was; a missing
 * namespace is KDP_ERR_KERNEL_NOT_FOUND; the kernel's own rules, read back with save and loaded
 * into the fake, trace like the fake's (the path the compliance suite takes "for real").
 * withIsolatedKernel checks the root namespace (iptables included) is unchanged. Run as root:
 *   node --import tsx --test test/integration/kernel/iptables.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError, type KdpError } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import type { IptablesBackend } from '../../../dataplane/kernel/iptables/types.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import {
  KUBE_PROXY_JUMPS,
  endpointIp,
  kubeShapedPayload,
  serviceIp,
} from '../../../dataplane/kernel/testing/iptables-kube-shape.ts';
import { tracePacket } from '../../../dataplane/kernel/testing/iptables-tracer.ts';
import { withIsolatedKernel } from './isolated.ts';

const withoutComments = (s: string) =>
  s
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

const BLAMED: Record<IptablesBackend, string> = {
  // legacy names the rule; nft checks jump targets when the block commits.
  legacy: '-A KUBE-SVC-X -j KUBE-SEP-GONE',
  nft: 'COMMIT',
};

for (const backend of ['nft', 'legacy'] as IptablesBackend[]) {
  test(`iptables-${backend}: a refused restore quotes its line and changes nothing`, async (t) => {
    await withIsolatedKernel(t, async (kernel, cluster) => {
      const ns = `kdp-${cluster}-node`;
      await kernel.netns.create(ns);
      const ipt = createIptables({ prefix: kernel.prefix, backend });
      await ipt.ensureJumps(ns, KUBE_PROXY_JUMPS);
      await ipt.restore(ns, kubeShapedPayload({ services: 5, endpointsPerService: 2 }), { noflush: true });
      const before = withoutComments(await ipt.save(ns));
      let error: KdpError | undefined;
      try {
        await ipt.restore(ns, '*nat\n:KUBE-SVC-X - [0:0]\n-A KUBE-SVC-X -j KUBE-SEP-GONE\nCOMMIT\n', {
          noflush: true,
        });
      } catch (e) {
        assert.ok(isKdpError(e), String(e));
        error = e;
      }
      assert.equal(error?.code, KERNEL_ERR.rejected);
      assert.equal(error?.details?.text, BLAMED[backend]);
      assert.ok(error?.message.includes(`refused (${BLAMED[backend]})`), error?.message);
      assert.equal(withoutComments(await ipt.save(ns)), before);
      assert.equal(await ipt.ensureJumps(ns, KUBE_PROXY_JUMPS), 0, 'the jumps are still all there');

      await assert.rejects(ipt.save(`kdp-${cluster}-missing`), (e: unknown) =>
        isKdpError(e, KERNEL_ERR.notFound),
      );
    });
  });

  test(`iptables-${backend}: the kernel's rules, loaded into the fake, trace to every endpoint`, async (t) => {
    await withIsolatedKernel(t, async (kernel, cluster) => {
      const ns = `kdp-${cluster}-node`;
      await kernel.netns.create(ns);
      const ipt = createIptables({ prefix: kernel.prefix, backend });
      await ipt.ensureJumps(ns, KUBE_PROXY_JUMPS);
      await ipt.restore(ns, kubeShapedPayload({ services: 3, endpointsPerService: 4, nodePorts: true }), {
        noflush: true,
      });
      const fake = new FakeIptables({ prefix: kernel.prefix });
      await fake.restore(ns, await ipt.save(ns));
      const node = { localAddresses: ['192.168.0.2'] };
      const endpoints = [0, 1, 2, 3].map((e) => `${endpointIp(1, e, 4)}:8080`).sort();
      const clusterIp = tracePacket(fake.ruleset(ns), node, {
        from: 'pod',
        source: '10.244.9.9',
        destination: serviceIp(1),
        protocol: 'tcp',
        port: 80,
      });
      assert.deepEqual(clusterIp.outcomes, endpoints);
      assert.equal(clusterIp.masquerade, false);
      const nodePort = tracePacket(fake.ruleset(ns), node, {
        from: 'external',
        source: '203.0.113.7',
        destination: '192.168.0.2',
        protocol: 'tcp',
        port: 30001,
      });
      assert.deepEqual(nodePort.outcomes, endpoints);
      assert.equal(nodePort.masquerade, true);
    });
  });
}
