// Self-healing against damage from outside, per table and per kind of damage, on the fake kernel
// with the packet tracer: traffic is DNATed (or REJECTed) -> someone else flushes or deletes ->
// the tracer shows the packet no longer is -> the periodic check notices -> a full sync -> the
// packet is handled again. Also: a partial sync in between, and a check that finds nothing
// writes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  at,
  ep,
  POD_CLIENT,
  R1,
  R2,
  slice,
  svc,
  THIS_NODE_IP,
} from '../../../../dataplane/proxy/compliance/index.ts';
import { KUBE_PROXY_JUMP_RULES } from '../../../../dataplane/proxy/iptables/fixed-rules.ts';
import { jumpLine } from '../../../../dataplane/proxy/iptables/foreign-rules.ts';
import type { IptablesTable } from '../../../../dataplane/kernel/iptables/types.ts';
import type { TracePacket } from '../../../../dataplane/kernel/testing/iptables-tracer.ts';
import { cluster, NS, trace, type Cluster } from './helpers.ts';

const WEB_IP = '10.96.0.10';
const EMPTY_IP = '10.96.0.20';
const CHECK_MS = 1000;

const fromPod = (destination: string): TracePacket => ({
  from: 'pod',
  source: POD_CLIENT,
  destination,
  protocol: 'tcp',
  port: 80,
});
const fromNode = (destination: string): TracePacket => ({
  from: 'local',
  source: THIS_NODE_IP,
  destination,
  protocol: 'tcp',
  port: 80,
});

/** `-D` of one of our jumps, as `iptables -t T -D CHAIN ...` would be typed. */
function deleteJump(table: IptablesTable, from: string, to: string): string {
  const jump = KUBE_PROXY_JUMP_RULES.find((j) => j.table === table && j.from === from && j.to === to)!;
  return `-D ${jumpLine(jump).slice(3)}`;
}

interface DamageCase {
  name: string;
  /** Commands someone else runs, each `iptables -t table <line>`. */
  damage: [IptablesTable, string][];
  packet: TracePacket;
  /** What the packet meets while the rules are intact. */
  expected: string[];
}

const SERVED = [at(R1), at(R2)];

const CASES: DamageCase[] = [
  { name: 'nat -F', damage: [['nat', '-F']], packet: fromPod(WEB_IP), expected: SERVED },
  {
    name: 'nat -F then -X (every chain gone)',
    damage: [
      ['nat', '-F'],
      ['nat', '-X'],
    ],
    packet: fromPod(WEB_IP),
    expected: SERVED,
  },
  {
    name: 'nat KUBE-SERVICES flushed, unhooked and deleted',
    damage: [
      ['nat', '-F KUBE-SERVICES'],
      ['nat', deleteJump('nat', 'PREROUTING', 'KUBE-SERVICES')],
      ['nat', deleteJump('nat', 'OUTPUT', 'KUBE-SERVICES')],
      ['nat', '-X KUBE-SERVICES'],
    ],
    packet: fromPod(WEB_IP),
    expected: SERVED,
  },
  {
    name: 'nat PREROUTING jump deleted only',
    damage: [['nat', deleteJump('nat', 'PREROUTING', 'KUBE-SERVICES')]],
    packet: fromPod(WEB_IP),
    expected: SERVED,
  },
  {
    name: 'nat OUTPUT jump deleted only',
    damage: [['nat', deleteJump('nat', 'OUTPUT', 'KUBE-SERVICES')]],
    packet: fromNode(WEB_IP),
    expected: SERVED,
  },
  { name: 'filter -F', damage: [['filter', '-F']], packet: fromPod(EMPTY_IP), expected: ['REJECT'] },
  {
    name: 'filter -F then -X',
    damage: [
      ['filter', '-F'],
      ['filter', '-X'],
    ],
    packet: fromPod(EMPTY_IP),
    expected: ['REJECT'],
  },
  {
    name: 'filter FORWARD jump deleted only',
    damage: [['filter', deleteJump('filter', 'FORWARD', 'KUBE-SERVICES')]],
    packet: fromPod(EMPTY_IP),
    expected: ['REJECT'],
  },
];

async function webAndEmpty(): Promise<Cluster> {
  return cluster([svc('web', WEB_IP), svc('empty', EMPTY_IP)], [slice('web', [ep(R1), ep(R2)])]);
}

async function repairs(c: Cluster): Promise<number> {
  return (await c.proxier.metrics.kernelStateRepairs.get()).values.reduce((n, v) => n + v.value, 0);
}

for (const k of CASES) {
  test(`outside damage repaired by the periodic check: ${k.name}`, async () => {
    const c = await webAndEmpty();
    assert.deepEqual(trace(c, k.packet).outcomes, k.expected, 'handled before the damage');
    for (const [table, line] of k.damage) c.iptables.command(NS, table, line);
    assert.notDeepEqual(trace(c, k.packet).outcomes, k.expected, 'the damage breaks the flow');

    const restores = c.iptables.restores;
    await c.clock.advance(CHECK_MS - 1);
    assert.equal(c.iptables.restores, restores, 'nothing before the check is due');
    await c.clock.advance(1);
    assert.equal(c.iptables.restores, restores + 1, 'one restore: the full sync');
    assert.equal(c.proxier.lastWrite?.kind, 'full');
    assert.deepEqual(trace(c, k.packet).outcomes, k.expected, 'handled again');
    assert.equal(await repairs(c), 1);
    assert.deepEqual(c.errors, []);
  });
}

test('a partial sync after an outside flush leaves the repair to the next periodic check', async () => {
  const c = await webAndEmpty();
  c.iptables.command(NS, 'nat', '-F');
  // An endpoint change before the periodic check is due: a partial sync, no check of its own.
  await c.set([svc('web', WEB_IP), svc('empty', EMPTY_IP)], [slice('web', [ep(R1)])]);
  assert.equal(c.proxier.lastWrite?.kind, 'partial');
  assert.notDeepEqual(trace(c, fromPod(WEB_IP)).outcomes, [at(R1)], 'still broken');
  await c.clock.advance(CHECK_MS);
  assert.equal(c.proxier.lastWrite?.kind, 'full');
  assert.deepEqual(trace(c, fromPod(WEB_IP)).outcomes, [at(R1)]);
  assert.equal(await repairs(c), 1);
});

test('intact rules: the check runs every period, writes nothing and forces no sync', async () => {
  const c = await webAndEmpty();
  const restores = c.iptables.restores;
  const checks = c.iptables.callCount('checkRules');
  await c.clock.advance(10 * CHECK_MS);
  assert.equal(c.iptables.callCount('checkRules'), checks + 10);
  assert.equal(c.iptables.restores, restores);
  assert.equal(await repairs(c), 0);
  assert.equal(
    (await c.proxier.metrics.kernelCheckDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))
      ?.value,
    10,
  );
});

test('foreign rules are not part of the check: deleting one forces nothing', async () => {
  const c = await webAndEmpty();
  c.iptables.command(NS, 'filter', '-A INPUT -p tcp --dport 22 -j ACCEPT');
  await c.clock.advance(CHECK_MS);
  c.iptables.command(NS, 'filter', '-D INPUT -p tcp --dport 22 -j ACCEPT');
  await c.clock.advance(CHECK_MS);
  assert.equal(await repairs(c), 0);
});

test('a check that cannot run is logged, forces nothing, and the next one runs', async () => {
  const c = await webAndEmpty();
  const original = c.iptables.checkRules.bind(c.iptables);
  let fail = true;
  c.iptables.checkRules = async (ns, rules) => {
    if (fail) throw new Error('nsenter: cannot open');
    return original(ns, rules);
  };
  const restores = c.iptables.restores;
  await c.clock.advance(CHECK_MS);
  assert.equal(c.iptables.restores, restores);
  fail = false;
  c.iptables.command(NS, 'nat', '-F');
  await c.clock.advance(CHECK_MS);
  assert.equal(await repairs(c), 1);
  assert.deepEqual(trace(c, fromPod(WEB_IP)).outcomes, SERVED);
});

test('stop() ends the periodic check', async () => {
  const c = await webAndEmpty();
  await c.proxier.stop();
  const checks = c.iptables.callCount('checkRules');
  await c.clock.advance(5 * CHECK_MS);
  assert.equal(c.iptables.callCount('checkRules'), checks);
  assert.equal(c.clock.pendingTimers(), 0);
});
