// The proxy mode registry: every topology mode is known; what a host lacks is said first and
// exactly (IP_VS, the iptables tools of the chosen backend); modes not written yet say so; 'none'
// runs no proxier; an iptables proxier on fakes needs no tools; cleanup of every mode removes what
// a proxier left, by name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROXY_MODES } from '../../../dataplane/cluster/topology.ts';
import { isKdpError } from '../../../dataplane/errors.ts';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import { IptablesProxier } from '../../../dataplane/proxy/iptables/proxier.ts';
import {
  ANY_HOST,
  checkProxyMode,
  cleanupProxyModes,
  createProxier,
  type HostProbe,
  PROXY_MODE_UNAVAILABLE,
  PROXY_MODE_UNKNOWN,
  proxyModeNames,
} from '../../../dataplane/proxy/modes.ts';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { svc, slice, ep, L1, thisNode } from '../../../dataplane/proxy/compliance/topology.ts';

const host = (programs: string[], files: string[] = []): HostProbe => ({
  hasProgram: (p) => programs.includes(p),
  hasFile: (f) => files.includes(f),
});
const ALL_TOOLS = ['nsenter', 'iptables-nft-restore', 'iptables-nft-save', 'conntrack'];
const BR_NETFILTER = '/proc/sys/net/bridge/bridge-nf-call-iptables';

function refusal(fn: () => unknown, code = PROXY_MODE_UNAVAILABLE): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isKdpError(e, code), String(e));
    return e.message;
  }
  assert.fail('expected a refusal');
}

test('every mode a topology may name is known to the registry', () => {
  for (const mode of PROXY_MODES) assert.ok(proxyModeNames().includes(mode), mode);
  assert.match(
    refusal(() => checkProxyMode('nftables'), PROXY_MODE_UNKNOWN),
    /unknown proxy mode "nftables"/,
  );
});

test('iptables needs its backend tools; without conntrack or br_netfilter it only warns', () => {
  assert.deepEqual(checkProxyMode('iptables', { host: host(ALL_TOOLS, [BR_NETFILTER]) }), { warnings: [] });
  const [warning] = checkProxyMode('iptables', {
    host: host(ALL_TOOLS.slice(0, 3), [BR_NETFILTER]),
  }).warnings;
  assert.match(warning, /conntrack\(8\) is not installed/);
  const [bridge] = checkProxyMode('iptables', { host: host(ALL_TOOLS) }).warnings;
  assert.match(
    bridge,
    /^br_netfilter is not loaded: connections through a Service to a backend on the client/,
  );
  assert.equal(
    refusal(() => checkProxyMode('iptables', { host: host(['nsenter', 'iptables-nft-save']) })),
    'iptables mode (nft backend) needs iptables-nft-restore: not installed (Debian: apt-get install iptables util-linux)',
  );
  assert.match(
    refusal(() => checkProxyMode('iptables', { iptablesBackend: 'legacy', host: host(ALL_TOOLS) })),
    /\(legacy backend\) needs iptables-legacy-restore, iptables-legacy-save/,
  );
});

test('ipvs says what the kernel lacks first, then that the mode is not there yet', () => {
  assert.equal(
    refusal(() => checkProxyMode('ipvs', { host: host(ALL_TOOLS) })),
    'ipvs mode needs IP_VS in the kernel: this kernel has none; use iptables or the VM runner',
  );
  assert.equal(
    refusal(() => checkProxyMode('ipvs', { host: host(ALL_TOOLS, ['/proc/net/ip_vs']) })),
    'proxy mode ipvs is not available yet; use iptables',
  );
  assert.equal(
    refusal(() => checkProxyMode('userspace', { host: ANY_HOST })),
    'proxy mode userspace is not available yet; use iptables',
  );
  assert.deepEqual(checkProxyMode('none', { host: host([]) }), { warnings: [] });
});

test("'none' runs no proxier; iptables on fakes needs no tools", () => {
  const deps = { nodeName: 'node-a', netns: 'kdp-fake-node-a' };
  assert.equal(createProxier('none', deps, host([])), undefined);
  assert.throws(() => createProxier('iptables', deps, host([])), /needs nsenter/);
  const p = createProxier(
    'iptables',
    { ...deps, iptables: new FakeIptables(), conntrack: new FakeConntrack() },
    host([]),
  );
  assert.ok(p instanceof IptablesProxier);
  assert.equal(p.mode, 'iptables');
  assert.ok(p.metrics.iptables, 'iptables metrics are registered');
});

test('cleanup of every mode removes the KUBE- chains a proxier left', async () => {
  const iptables = new FakeIptables();
  const clock = new FakeClock();
  const ns = 'kdp-fake-node-a';
  const p = new IptablesProxier({
    nodeName: 'node-a',
    netns: ns,
    iptables,
    conntrack: new FakeConntrack(),
    clock,
    minSyncPeriodMs: 0,
  });
  p.start();
  p.onNodeAdd(thisNode());
  p.onServiceAdd(svc('web', '10.96.0.10'));
  p.onEndpointSliceAdd(slice('web', [ep(L1)]));
  p.onServicesSynced();
  p.onEndpointSlicesSynced();
  await clock.advance(0);
  await p.stop();
  assert.match(await iptables.save(ns), /KUBE-SVC-/);
  const [line] = await cleanupProxyModes(ns, { iptables });
  assert.match(line, /^iptables: removed \d+ KUBE-\* chains and the jumps to them \(nft\)$/);
  assert.doesNotMatch(await iptables.save(ns), /KUBE-/);
  assert.deepEqual(await cleanupProxyModes(ns, { iptables }), [], 'nothing left the second time');
});
