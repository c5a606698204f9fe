/**
 * Conntrack without root: the real implementation's commands (through a stand-in runner) for
 * each of kube-proxy's flushes, "0 flow entries have been deleted" (exit 1) taken as success,
 * the parser on lines captured from conntrack 1.4.7, filter checks, and the fake, which keeps
 * entries, deletes with the same meaning and records the arguments the real one would run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { createConntrack } from '../../../dataplane/kernel/conntrack/conntrack.ts';
import { parseEntry } from '../../../dataplane/kernel/conntrack/filter.ts';
import { CommandFailed } from '../../../dataplane/kernel/iproute2/run-command.ts';
import { FakeConntrack } from '../../../dataplane/kernel/testing/fake-conntrack.ts';
import type { ExecOptions, ExecResult } from '../../../dataplane/kernel/types.ts';

const NS = 'kdp-u-node';
const LINES = [
  'udp      17 29 src=127.0.0.1 dst=127.0.0.2 sport=50445 dport=53 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=50445 mark=0 use=1',
  'tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=57236 dport=8080 src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=57236 [ASSURED] mark=0 use=1',
];

function runner(answer: (argv: readonly string[]) => ExecResult) {
  const runs: string[][] = [];
  return {
    runs,
    run: async (argv: readonly string[], _options: ExecOptions) => {
      runs.push([...argv]);
      return answer(argv);
    },
  };
}

test('conntrack -L lines parse into tuples, state, flags and mark', () => {
  assert.deepEqual(parseEntry(LINES[0]), {
    protocol: 'udp',
    timeout: 29,
    original: { src: '127.0.0.1', dst: '127.0.0.2', sport: 50445, dport: 53 },
    reply: { src: '127.0.0.1', dst: '127.0.0.1', sport: 5353, dport: 50445 },
    flags: ['UNREPLIED'],
    mark: 0,
  });
  const tcp = parseEntry(LINES[1])!;
  assert.equal(tcp.state, 'TIME_WAIT');
  assert.deepEqual(tcp.flags, ['ASSURED']);
  assert.equal(parseEntry('conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.'), undefined);
});

test("kube-proxy's flushes become conntrack -D inside the namespace; nothing to delete is success", async () => {
  let deleted = 2;
  const r = runner((argv) => {
    const stderr = `conntrack v1.4.7 (conntrack-tools): ${deleted} flow entries have been deleted.\n`;
    if (deleted === 0) throw new CommandFailed(argv, 1, stderr);
    return { stdout: '', stderr };
  });
  const ct = createConntrack({ prefix: 'kdp-u-', run: r.run });
  assert.equal(await ct.deleteByNat(NS, '10.96.0.10', '10.244.1.5', 'udp'), 2);
  deleted = 0;
  assert.equal(await ct.deleteByDestination(NS, '10.96.0.10', 'udp'), 0);
  assert.equal(await ct.deleteByPort(NS, 30053, 'udp'), 0);
  assert.equal(await ct.deleteByPortNat(NS, 30053, '10.244.1.5', 'udp'), 0);
  assert.deepEqual(
    r.runs.map((a) => a.join(' ')),
    [
      `nsenter --net=/run/netns/${NS} conntrack -D --orig-dst 10.96.0.10 -p udp --dst-nat 10.244.1.5`,
      `nsenter --net=/run/netns/${NS} conntrack -D --orig-dst 10.96.0.10 -p udp`,
      `nsenter --net=/run/netns/${NS} conntrack -D -p udp --dport 30053`,
      `nsenter --net=/run/netns/${NS} conntrack -D -p udp --dport 30053 --dst-nat 10.244.1.5`,
    ],
  );
});

test('list parses the entries; other failures, bad filters and the host namespace are errors', async () => {
  const ok = runner(() => ({ stdout: LINES.join('\n') + '\n', stderr: '2 flow entries have been shown.\n' }));
  const entries = await createConntrack({ prefix: 'kdp-u-', run: ok.run }).list(NS, { protocol: 'udp' });
  assert.equal(entries.length, 2);
  assert.deepEqual(ok.runs[0].slice(2), ['conntrack', '-L', '-p', 'udp']);

  const broken = runner((argv) => {
    throw new CommandFailed(
      argv,
      1,
      'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n',
    );
  });
  const ct = createConntrack({ prefix: 'kdp-u-', run: broken.run });
  await assert.rejects(ct.deleteByDestination(NS, '10.96.0.10'), (e: unknown) =>
    isKdpError(e, KERNEL_ERR.command),
  );
  const count = broken.runs.length;
  for (const bad of [
    () => ct.delete(NS, {}),
    () => ct.deleteByDestination(NS, '10.96.0.300'),
    () => ct.delete(NS, { origDstPort: 53 }),
    () => ct.deleteByPort(NS, 70000, 'udp'),
  ])
    await assert.rejects(bad(), (e: unknown) => isKdpError(e, KERNEL_ERR.invalid));
  await assert.rejects(ct.deleteByDestination('', '10.96.0.10'), (e: unknown) =>
    isKdpError(e, KERNEL_ERR.hostNamespace),
  );
  await assert.rejects(ct.list('default'), (e: unknown) => isKdpError(e, KERNEL_ERR.hostNamespace));
  assert.equal(broken.runs.length, count, 'nothing ran for refused calls');
});

test('the fake deletes the stale UDP entries of a removed endpoint and keeps the live ones', async () => {
  const ct = new FakeConntrack({ prefix: 'kdp-u-' });
  const flow = { protocol: 'udp' as const, src: '10.244.2.9', sport: 40000, dst: '10.96.0.10', dport: 53 };
  ct.addFlow(NS, { ...flow, dnat: '10.244.1.5:53' });
  ct.addFlow(NS, { ...flow, sport: 40001, dnat: '10.244.1.6:53' });
  ct.addFlow(NS, { ...flow, protocol: 'tcp', dnat: '10.244.1.5:53' });
  ct.addFlow(NS, {
    protocol: 'udp',
    src: '10.244.2.9',
    sport: 40002,
    dst: '192.168.0.2',
    dport: 30053,
    dnat: '10.244.1.5:53',
  });
  ct.addFlow(NS, { protocol: 'udp', src: '10.244.2.9', sport: 40003, dst: '10.244.1.7', dport: 53 });

  assert.equal(await ct.deleteByNat(NS, '10.96.0.10', '10.244.1.5', 'udp'), 1);
  assert.equal(await ct.deleteByPortNat(NS, 30053, '10.244.1.5', 'udp'), 1);
  // A flow to the endpoint's own address was never DNATed: --dst-nat does not match it.
  assert.equal(await ct.delete(NS, { protocol: 'udp', dstNat: '10.244.1.7' }), 0);
  const left = ct
    .entries(NS)
    .map((e) => `${e.protocol} ${e.original.dst}:${e.original.dport} -> ${e.reply.src}:${e.reply.sport}`);
  assert.deepEqual(left, [
    'udp 10.96.0.10:53 -> 10.244.1.6:53',
    'tcp 10.96.0.10:53 -> 10.244.1.5:53',
    'udp 10.244.1.7:53 -> 10.244.1.7:53',
  ]);
  assert.equal((await ct.list(NS, { protocol: 'tcp' })).length, 1);
  assert.deepEqual(
    ct.callsOf('delete').map((c) => [c.args.join(' '), c.count]),
    [
      ['-D --orig-dst 10.96.0.10 -p udp --dst-nat 10.244.1.5', 1],
      ['-D -p udp --dport 30053 --dst-nat 10.244.1.5', 1],
      ['-D -p udp --dst-nat 10.244.1.7', 0],
    ],
  );
  assert.equal(await ct.deleteByDestination(NS, '10.96.0.10'), 2);
  await assert.rejects(ct.delete(NS, {}), (e: unknown) => isKdpError(e, KERNEL_ERR.invalid));
  await assert.rejects(ct.list('root'), (e: unknown) => isKdpError(e, KERNEL_ERR.hostNamespace));
});
