// The FakeKernel's vxlan links and FDB entries follow the kernel's rules (the same ones
// test/integration/kernel/vxlan.test.ts checks against the real one): checks before anything is
// touched, one device per VNI and port, entries only on vxlan links, add/append/replace/delete
// semantics, entries going with their link; and the iproute2 text of the new operations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import { ipArgs } from '../../../dataplane/kernel/iproute2/commands.ts';
import { parseFdb, parseLinks } from '../../../dataplane/kernel/iproute2/parse.ts';
import { FakeKernel } from '../../../dataplane/kernel/testing/fake-kernel.ts';

const NS = 'kdp-tfdb-n1';
const spec = { ns: NS, name: 'flannel.1', vni: 1, local: '198.18.0.1', dev: 'eth0', port: 8472 };
const entry = { dev: 'flannel.1', lladdr: '0a:58:0a:f4:01:00', dst: '198.18.0.2' };

async function kernel() {
  const k = new FakeKernel({ prefix: 'kdp-tfdb-' });
  await k.netns.create(NS);
  await k.links.addVeth({ ns: NS, name: 'eth0', peerNs: NS, peerName: 'eth1' });
  return k;
}

test('a vxlan link: kernel MTU default, one per VNI and port, checked arguments', async () => {
  const k = await kernel();
  await k.links.addVxlan(spec);
  const link = (await k.links.list(NS)).find((l) => l.name === 'flannel.1');
  assert.equal(link?.mtu, 1450);
  assert.deepEqual(link?.vxlan, { vni: 1, local: '198.18.0.1', dev: 'eth0', port: 8472, learning: false });
  await assert.rejects(k.links.addVxlan({ ...spec, name: 'vx2' }), (e) =>
    isKdpError(e, 'KDP_ERR_KERNEL_EXISTS'),
  );
  await assert.rejects(k.links.addVxlan({ ...spec, name: 'vx3', dev: 'eth9', vni: 2 }), (e) =>
    isKdpError(e, 'KDP_ERR_KERNEL_NOT_FOUND'),
  );
  for (const bad of [
    { vni: 0 },
    { vni: 1 << 24 },
    { local: '198.18.0' },
    { port: 0 },
    { address: '01:00:00:00:00:01' },
  ]) {
    await assert.rejects(k.links.addVxlan({ ...spec, name: 'vx4', ...bad }), (e) =>
      isKdpError(e, 'KDP_ERR_KERNEL_INVALID'),
    );
  }
  await assert.rejects(k.links.addVxlan({ ...spec, ns: 'other' }), (e) =>
    isKdpError(e, 'KDP_ERR_KERNEL_HOST_NAMESPACE'),
  );
});

test('FDB entries: add, append, replace, delete as the kernel answers them', async () => {
  const k = await kernel();
  await assert.rejects(k.fdb.add(NS, entry), (e) => isKdpError(e, 'KDP_ERR_KERNEL_NOT_FOUND'));
  await assert.rejects(k.fdb.add(NS, { ...entry, dev: 'eth0' }), (e) =>
    isKdpError(e, 'KDP_ERR_KERNEL_INVALID'),
  );
  await k.links.addVxlan(spec);
  await k.fdb.add(NS, entry);
  await assert.rejects(k.fdb.add(NS, { ...entry, dst: '198.18.0.3' }), (e) =>
    isKdpError(e, 'KDP_ERR_KERNEL_EXISTS'),
  );
  await k.fdb.append(NS, entry);
  assert.equal((await k.fdb.list(NS, 'flannel.1')).length, 1, 'an identical append changes nothing');
  await k.fdb.replace(NS, { ...entry, dst: '198.18.0.3' });
  assert.deepEqual(await k.fdb.list(NS, 'flannel.1'), [{ ...entry, dst: '198.18.0.3', state: 'permanent' }]);
  await k.fdb.delete(NS, entry); // another VTEP's: a no-op, as the kernel's
  await assert.rejects(k.fdb.delete(NS, { ...entry, lladdr: '0a:58:0a:f4:09:00' }), (e) =>
    isKdpError(e, 'KDP_ERR_KERNEL_NOT_FOUND'),
  );
  await assert.rejects(k.fdb.replace(NS, { ...entry, lladdr: 'zz' }), (e) =>
    isKdpError(e, 'KDP_ERR_KERNEL_INVALID'),
  );
  await k.fdb.delete(NS, { ...entry, dst: '198.18.0.3' });
  assert.deepEqual(await k.fdb.list(NS, 'flannel.1'), []);
  await k.fdb.replace(NS, entry);
  await k.links.delete(NS, 'flannel.1');
  await k.links.addVxlan(spec);
  assert.deepEqual(await k.fdb.list(NS, 'flannel.1'), [], 'entries go with their link');
});

test('iproute2 text and JSON of vxlan links and FDB entries', () => {
  assert.equal(
    ipArgs({ kind: 'vxlan.add', ...spec, mtu: 1450, address: '0a:58:0a:f4:01:00' })!.join(' '),
    'link add name flannel.1 mtu 1450 address 0a:58:0a:f4:01:00 type vxlan id 1 local 198.18.0.1 dev eth0 dstport 8472 nolearning',
  );
  const [link] = parseLinks(
    '[{"ifname":"flannel.1","flags":["UP"],"mtu":1450,"address":"0a:58:0a:f4:01:00","linkinfo":{"info_kind":"vxlan","info_data":{"id":1,"local":"198.18.0.1","link":"eth0","port":8472,"learning":false}}}]',
  );
  assert.deepEqual(link.vxlan, { vni: 1, local: '198.18.0.1', dev: 'eth0', port: 8472, learning: false });
  assert.deepEqual(
    parseFdb(
      '[{"mac":"0a:58:0a:f4:02:00","dst":"198.18.0.2","flags":["self"],"state":"permanent"}]',
      'flannel.1',
    ),
    [{ dev: 'flannel.1', lladdr: '0a:58:0a:f4:02:00', dst: '198.18.0.2', state: 'permanent' }],
  );
});
