// The proxy mode registry: unknown modes are refused listing the known ones; what a host lacks is
// said exactly (the iptables tools of the chosen backend); a mode's flags are checked against it
// (another mode's flag, an unknown one, a bad value); 'none' runs no proxier; cleanup of every
// mode removes what a proxier left, by name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKdpError, type ErrorCode } from '../../../dataplane/errors.ts';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import { FakeIptables } from '../../../dataplane/kernel/testing/fake-iptables.ts';
import { cleanupIptables } from '../../../dataplane/proxy/iptables/cleanup.ts';
import { IptablesProxier } from '../../../dataplane/proxy/iptables/proxier.ts';
import {
  checkProxyMode,
  cleanupProxyModes,
  createProxier,
  type HostProbe,
  PROXY_MODE_FLAG,
  PROXY_MODE_UNAVAILABLE,
  PROXY_MODE_UNKNOWN,
  proxyModeNames,
  resolveModeFlags,
} from '../../../dataplane/proxy/modes.ts';
import { FakeClock } from '../../../dataplane/proxy/testing/fake-clock.ts';
import { svc, slice, ep, L1, thisNode } from '../../../dataplane/proxy/compliance/topology.ts';

const host = (programs: string[], files: string[] = []): HostProbe => ({
  hasProgram: (p) => programs.includes(p),
  hasFile: (f) => files.includes(f),
});
const ALL_TOOLS = ['nsenter', 'iptables-nft-restore', 'iptables-nft-save', 'conntrack'];
const BR_NETFILTER = '/proc/sys/net/bridge/bridge-nf-call-iptables';

function refusal(fn: () => unknown, code: ErrorCode = PROXY_MODE_UNAVAILABLE): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isKdpError(e, code), String(e));
    return e.message;
  }
  assert.fail('expected a refusal');
}

test('an unknown mode is refused with the names of the known ones', () => {
  assert.ok(proxyModeNames().includes('iptables') && proxyModeNames().includes('none'));
  assert.equal(
    refusal(() => checkProxyMode('no-such-mode'), PROXY_MODE_UNKNOWN),
    `unknown proxy mode "no-such-mode": kdp has ${proxyModeNames().join(', ')}`,
  );
});

test("a mode's flags: defaults filled in, bad values and other modes' flags refused", () => {
  assert.deepEqual(resolveModeFlags('iptables'), { 'iptables-backend': 'nft' });
  assert.deepEqual(resolveModeFlags('iptables', { 'iptables-backend': 'legacy', other: undefined }), {
    'iptables-backend': 'legacy',
  });
  assert.equal(
    refusal(() => resolveModeFlags('iptables', { 'iptables-backend': 'ebpf' }), PROXY_MODE_FLAG),
    '--iptables-backend must be nft or legacy, got "ebpf"',
  );
  assert.equal(
    refusal(() => resolveModeFlags('none', { 'iptables-backend': 'nft' }), PROXY_MODE_FLAG),
    '--iptables-backend is a flag of proxy mode iptables, not of none',
  );
  assert.equal(
    refusal(() => resolveModeFlags('iptables', { __proto__x: 'nft' }), PROXY_MODE_FLAG),
    'proxy mode iptables has no flag --__proto__x (it has --iptables-backend)',
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
    refusal(() =>
      checkProxyMode('iptables', { flags: { 'iptables-backend': 'legacy' }, host: host(ALL_TOOLS) }),
    ),
    /\(legacy backend\) needs iptables-legacy-restore, iptables-legacy-save/,
  );
});

test("'none' runs no proxier and needs nothing; iptables needs its tools", () => {
  const ctx = { nodeName: 'node-a', netns: 'kdp-fake-node-a' };
  assert.deepEqual(checkProxyMode('none', { host: host([]) }), { warnings: [] });
  assert.equal(createProxier('none', ctx, { host: host([]) }), undefined);
  assert.throws(() => createProxier('iptables', ctx, { host: host([]) }), /needs nsenter/);
  const p = createProxier('iptables', ctx, { host: host(ALL_TOOLS) });
  assert.ok(p instanceof IptablesProxier);
  assert.equal(p.mode, 'iptables');
});

test("the iptables mode's cleanup removes the KUBE- chains a proxier left; every mode's cleanup runs", async () => {
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
  const removed = await cleanupIptables(iptables, ns);
  assert.ok(removed.chains > 0);
  assert.doesNotMatch(await iptables.save(ns), /KUBE-/);
  assert.equal((await cleanupIptables(iptables, ns)).chains, 0, 'nothing left the second time');
  // Every mode's cleanup runs; with no iptables tools on the host there is nothing to look at.
  assert.deepEqual(await cleanupProxyModes(ns, { host: host([]) }), []);
});
