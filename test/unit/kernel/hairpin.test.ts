// Hairpin mode of a bridge port (what the agent sets on every pod's veth, as the CNI bridge
// plugin's hairpinMode): its iproute2 text, refused together with other changes (the kernel
// applies port options before it makes the link a port), and refused by the fake, as by the
// kernel, on a link that is not a bridge port.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKdpError } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { describeOp } from '../../../dataplane/kernel/iproute2/commands.ts';
import { NetworkPlan } from '../../../dataplane/kernel/network-plan.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';

test('hairpin is its own link change, in iproute2 terms', () => {
  assert.equal(
    describeOp({ kind: 'link.set', ns: 'kdp-a-n', name: 'veth1', hairpin: true }),
    'ip link set dev veth1 type bridge_slave hairpin on',
  );
});

test('the fake takes hairpin on a bridge port only, and never with another change', async () => {
  const kernel = new FakeKernel();
  const ns = 'kdp-a-node';
  await kernel.ops.apply(
    new NetworkPlan()
      .createNamespace(ns)
      .addBridge(ns, 'cni0')
      .addVeth({ ns, name: 'v0', peerNs: ns, peerName: 'v1' })
      .addVeth({ ns, name: 'v2', peerNs: ns, peerName: 'v3' })
      .setLink(ns, 'v0', { master: 'cni0', up: true })
      .setLink(ns, 'v0', { hairpin: true }),
  );
  assert.equal(kernel.state.namespaces.get(ns)?.links.get('v0')?.hairpin, true);
  await assert.rejects(kernel.ops.apply(new NetworkPlan().setLink(ns, 'v2', { hairpin: true })), (e) =>
    isKdpError(e, KERNEL_ERR.invalid),
  );
  await assert.rejects(
    kernel.ops.apply(new NetworkPlan().setLink(ns, 'v2', { master: 'cni0', hairpin: true })),
    (e) => isKdpError(e, KERNEL_ERR.invalid) && /hairpin is set in a change of its own/.test(e.message),
  );
});
