/**
 * `kdp doctor` probes every feature inside a throwaway namespace: it reports netns, veth and
 * bridge as present on this host (the integration tier needs them), says what each missing
 * feature disables, removes its namespace and leaves the root namespace unchanged.
 * Run as root: node --import tsx --test test/integration/cluster/doctor.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { DoctorCheck } from '../../../dataplane/cli/doctor-checks.ts';
import { diffSnapshots, snapshotRoot } from '../helpers/root-snapshot.ts';
import { kdp } from './helpers.ts';

test('kdp doctor --json reports every check and changes nothing', async () => {
  const before = await snapshotRoot();
  const r = await kdp(['doctor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { ok, checks } = JSON.parse(r.stdout) as { ok: boolean; checks: DoctorCheck[] };
  assert.equal(ok, true);
  const names = checks.map((c) => c.name);
  for (const n of [
    'netns',
    'veth',
    'bridge',
    'tun',
    'vxlan',
    'iptables (nft)',
    'iptables (legacy)',
    'ipset',
    'nft',
    'IPVS',
    'BPF',
    'conntrack',
    'iperf3',
    'sockperf',
    'wrk',
    'kubectl',
    'cluster DNS',
    'dnsperf',
    'nsd',
  ]) {
    assert.ok(names.includes(n), `no ${n} check`);
  }
  for (const n of ['netns', 'veth', 'bridge', 'cluster DNS'])
    assert.equal(checks.find((c) => c.name === n)?.ok, true, n);
  for (const c of checks) assert.ok(c.disables.length > 0, `${c.name} says what it disables`);
  assert.deepEqual(
    readdirSync('/run/netns').filter((n) => n.startsWith('kdp-doctor-')),
    [],
  );
  assert.deepEqual(diffSnapshots(before, await snapshotRoot()), []);
});
