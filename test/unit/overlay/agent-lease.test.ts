// The agent and its overlay backend, wired (fake kernel, in-process apiserver): it publishes its
// lease on its Node as flanneld does, gives pods and cni0 the backend's MTU, writes subnet.env,
// and a peer's lease change (new VtepMAC) reaches the kernel; the udp engine option is checked;
// a backend's counters come out as Prometheus metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Node } from '../../../dataplane/api/types.ts';
import { resolveTopology } from '../../../dataplane/cluster/topology.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import type { OverlayBackend } from '../../../dataplane/overlay/backend.ts';
import { overlayMetricsRegistry } from '../../../dataplane/overlay/metrics.ts';
import { overlayOptions } from '../../../dataplane/overlay/options.ts';
import { agentWorld } from '../agent/fixture.ts';
import { until } from '../../helpers/until.ts';

test('a vxlan agent publishes its lease, uses the backend MTU, writes subnet.env and follows peers', async () => {
  const w = await agentWorld({ nodes: 2 });
  try {
    const [n1, n2] = w.nodes;
    await w.startAgent(1, { overlay: 'vxlan', clusterCidr: '10.244.0.0/16' });
    const nodes = w.client.resource<Node>('nodes');
    const a = (await nodes.get(n1.name)).metadata.annotations ?? {};
    assert.equal(a['flannel.alpha.coreos.com/public-ip'], n1.underlayIp);
    assert.equal(a['flannel.alpha.coreos.com/backend-type'], 'vxlan');
    assert.equal(a['flannel.alpha.coreos.com/kube-subnet-manager'], 'true');
    const data = JSON.parse(a['flannel.alpha.coreos.com/backend-data']!) as { VNI: number; VtepMAC: string };
    assert.equal(data.VNI, 1);
    assert.match(data.VtepMAC, /^0a:58:/);
    assert.ok(a['kdp.dev/underlay-mac'], 'the uplink MAC is still published');

    const cni0 = (await w.kernel.links.list(n1.netns)).find((l) => l.name === 'cni0');
    assert.equal(cni0?.mtu, 1450, "cni0 takes the backend's MTU");
    assert.equal(
      await readFile(join(w.stateDir(1), 'subnet.env'), 'utf8'),
      `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${n1.podCidr.replace(/\.0\//, '.1/')}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`,
    );

    await w.startAgent(2, { overlay: 'vxlan', clusterCidr: '10.244.0.0/16' });
    const fdb = async () =>
      (await w.kernel.fdb.list(n1.netns, 'flannel.1')).map((f) => `${f.lladdr} ${f.dst}`);
    const mac2 = JSON.parse(
      (await nodes.get(n2.name)).metadata.annotations!['flannel.alpha.coreos.com/backend-data']!,
    ).VtepMAC as string;
    await until('node-1 to program node-2', async () => (await fdb()).join() === `${mac2} ${n2.underlayIp}`);

    // A lease change that is only in the backend data is a sync.
    await nodes.patch(
      n2.name,
      {
        metadata: {
          annotations: { 'flannel.alpha.coreos.com/backend-data': '{"VNI":1,"VtepMAC":"0a:58:0a:f4:63:00"}' },
        },
      },
      { type: 'merge' },
    );
    await until(
      'node-1 to follow the new VtepMAC',
      async () => (await fdb()).join() === `0a:58:0a:f4:63:00 ${n2.underlayIp}`,
    );
  } finally {
    await w.close();
  }
});

test('only udp takes an engine, and only one it has', () => {
  assert.deepEqual(overlayOptions('udp', 'baseline'), { engine: 'baseline' });
  assert.equal(overlayOptions('vxlan', undefined), undefined);
  assert.throws(
    () => overlayOptions('vxlan', 'baseline'),
    (e) => isKdpError(e, 'KDP_ERR_OVERLAY_OPTION') && /vxlan backend has no engine option/.test(e.message),
  );
  assert.deepEqual(overlayOptions('udp', 'batched-no-offload'), { engine: 'batched', offload: 'false' });
  assert.throws(() => overlayOptions('udp', 'turbo'), /batched, baseline or batched-no-offload, got "turbo"/);
  assert.deepEqual(resolveTopology({ overlay: 'udp', overlayEngine: 'baseline' }).overlayEngine, 'baseline');
  assert.equal(resolveTopology({ overlay: 'udp' }).overlayEngine, undefined);
  assert.throws(
    () => resolveTopology({ overlay: 'host-gw', overlayEngine: 'baseline' }),
    /overlayEngine: the host-gw backend has no engine option/,
  );
});

test("a backend's counters are Prometheus metrics, read at scrape time", async () => {
  let packets = 5;
  const backend: OverlayBackend = {
    name: 'udp',
    start: async () => ({ backendData: null, podMtu: 1472 }),
    sync: async () => {},
    close: async () => {},
    counters: () => ({
      tunRxPackets: packets,
      udpTxBytes: 700,
      'drops.no-route': 2,
      icmpSent: 1,
      'batchSizes.1': 3,
    }),
  };
  const registry = overlayMetricsRegistry(backend)!;
  packets = 9;
  const text = await registry.metrics();
  assert.match(text, /^kdp_overlay_packets_total\{backend="udp",direction="tun_rx"\} 9$/m);
  assert.match(text, /^kdp_overlay_bytes_total\{backend="udp",direction="udp_tx"\} 700$/m);
  assert.match(text, /^kdp_overlay_drops_total\{backend="udp",reason="no-route"\} 2$/m);
  assert.doesNotMatch(text, /batchSizes|icmpSent/);
  assert.equal(
    overlayMetricsRegistry({ ...backend, counters: undefined }),
    undefined,
    'kernel backends: none',
  );
});
