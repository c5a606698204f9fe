/**
 * The real Iptables without root: with a stand-in for the process runner, check the commands it
 * would run (nsenter into the named namespace, the chosen backend, -w, --noflush/--counters,
 * the payload on stdin), that the guard refuses the host namespace before any command, and how
 * the tools' failure messages (captured from iptables 1.8.9) become typed errors naming the line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError, type KdpError } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { createIptables } from '../../../dataplane/kernel/iptables/iptables.ts';
import { CommandFailed } from '../../../dataplane/kernel/iproute2/run-command.ts';
import type { ExecOptions, ExecResult } from '../../../dataplane/kernel/types.ts';

const NS = 'kdp-u-node';

function recorder(
  answer: (argv: readonly string[], options: ExecOptions) => ExecResult = () => ({ stdout: '', stderr: '' }),
) {
  const runs: { argv: string[]; input?: string }[] = [];
  const run = async (argv: readonly string[], options: ExecOptions) => {
    runs.push({ argv: [...argv], input: options.input });
    return answer(argv, options);
  };
  return { runs, run };
}

function failing(stderr: string, exitCode: number | null = 1) {
  return recorder((argv) => {
    throw new CommandFailed(argv, exitCode, stderr);
  });
}

async function failure(p: Promise<unknown>): Promise<KdpError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isKdpError(e), String(e));
    return e;
  }
  assert.fail('expected a failure');
}

test('restore runs the backend inside the namespace with the payload on stdin', async () => {
  const r = recorder();
  const legacy = createIptables({ prefix: 'kdp-u-', backend: 'legacy', run: r.run });
  await legacy.restore(NS, '*nat\nCOMMIT\n', { noflush: true, counters: true });
  const nft = createIptables({ prefix: 'kdp-u-', run: r.run, waitSeconds: 5 });
  await nft.restore(NS, '*filter\nCOMMIT\n');
  await nft.save(NS, 'nat');
  assert.deepEqual(r.runs, [
    {
      argv: [
        'nsenter',
        `--net=/run/netns/${NS}`,
        'iptables-legacy-restore',
        '-w',
        '60',
        '--noflush',
        '--counters',
      ],
      input: '*nat\nCOMMIT\n',
    },
    {
      argv: ['nsenter', `--net=/run/netns/${NS}`, 'iptables-nft-restore', '-w', '5'],
      input: '*filter\nCOMMIT\n',
    },
    { argv: ['nsenter', `--net=/run/netns/${NS}`, 'iptables-nft-save', '-t', 'nat'], input: undefined },
  ]);
});

test('the guard refuses the host namespace and foreign names before running anything', async () => {
  const r = recorder();
  const ipt = createIptables({ prefix: 'kdp-u-', run: r.run });
  for (const ns of ['', 'default', 'kdp-other-node', '../kdp-u-x']) {
    const e = await failure(ipt.restore(ns, '*nat\nCOMMIT\n'));
    assert.ok(e.code === KERNEL_ERR.hostNamespace || e.code === KERNEL_ERR.invalid, `${ns}: ${e.code}`);
    await failure(ipt.save(ns));
  }
  assert.deepEqual(r.runs, []);
  assert.throws(
    () => createIptables({ prefix: 'host-' }),
    (e: unknown) => isKdpError(e, KERNEL_ERR.invalid),
  );
});

test("the tools' refusals become KDP_ERR_KERNEL_REJECTED with the blamed line quoted", async () => {
  const payload = '*filter\n:KUBE-F - [0:0]\nCOMMIT\n*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j KUBE-NOPE\nCOMMIT\n';
  const cases: [stderr: string, line: number, reason: RegExp, committed: string[]][] = [
    ['iptables-restore: line 6 failed\n', 6, /line 6 failed/, ['filter']],
    [
      "iptables-nft-restore v1.8.9 (nf_tables): Chain 'KUBE-NOPE' does not exist\nError occurred at line: 7\nTry `iptables-nft-restore -h' or 'iptables-nft-restore --help' for more information.\n",
      7,
      /: Chain 'KUBE-NOPE' does not exist; tables committed before it: filter$/,
      ['filter'],
    ],
    [
      'iptables-nft-restore v1.8.9 (nf_tables): \nline 6: RULE_APPEND failed (Invalid argument): rule in chain KUBE-A\n',
      6,
      /RULE_APPEND failed \(Invalid argument\)/,
      ['filter'],
    ],
    ['iptables-nft-restore: line 2 failed: No chain/target/match by that name.\n', 2, /No chain/, []],
    ['iptables-restore: COMMIT expected at line 8\n', 8, /end of input/, ['filter', 'nat']],
  ];
  for (const [stderr, line, reason, committed] of cases) {
    const ipt = createIptables({ prefix: 'kdp-u-', run: failing(stderr).run });
    const e = await failure(ipt.restore(NS, payload, { noflush: true }));
    assert.equal(e.code, KERNEL_ERR.rejected, e.message);
    assert.equal(e.details?.line, line);
    assert.match(e.message, reason);
    assert.deepEqual(e.details?.committedTables, committed);
    assert.match(
      e.message,
      new RegExp(`^iptables-nft-restore --noflush in namespace ${NS}: line ${line} refused`),
    );
  }
  const quoted = await failure(
    createIptables({ prefix: 'kdp-u-', run: failing('iptables-restore: line 6 failed\n').run }).restore(
      NS,
      payload,
    ),
  );
  assert.equal(quoted.details?.text, '-A KUBE-A -j KUBE-NOPE');
  assert.match(quoted.message, /line 6 refused \(-A KUBE-A -j KUBE-NOPE\)/);
});

test('a missing namespace, a missing tool and a busy lock are not the payload being refused', async () => {
  const missingNs = failing(`nsenter: cannot open /run/netns/${NS}: No such file or directory\n`);
  assert.equal(
    (await failure(createIptables({ prefix: 'kdp-u-', run: missingNs.run }).save(NS))).code,
    KERNEL_ERR.notFound,
  );
  const missingTool = failing(
    'nsenter: failed to execute iptables-nft-restore: No such file or directory\n',
    127,
  );
  const tool = await failure(
    createIptables({ prefix: 'kdp-u-', run: missingTool.run }).restore(NS, '*nat\nCOMMIT\n'),
  );
  assert.equal(tool.code, KERNEL_ERR.command);
  assert.match(tool.message, /apt-get install iptables/);
  const killed = failing('\nkilled by SIGKILL', null);
  const timeout = await failure(
    createIptables({ prefix: 'kdp-u-', run: killed.run }).restore(NS, '*nat\nCOMMIT\n'),
  );
  assert.equal(timeout.code, KERNEL_ERR.command);
  assert.match(timeout.message, /timed out or killed/);
  const lock = failing('Another app is currently holding the xtables lock. Stopped waiting after 60s.\n', 4);
  assert.equal(
    (await failure(createIptables({ prefix: 'kdp-u-', run: lock.run }).restore(NS, '*nat\nCOMMIT\n'))).code,
    KERNEL_ERR.command,
  );
});

const JUMPS = [
  { table: 'nat', from: 'PREROUTING', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'OUTPUT', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  {
    table: 'filter',
    from: 'FORWARD',
    to: 'KUBE-FORWARD',
    comment: 'kubernetes forwarding rules',
    position: 'prepend',
  },
] as const;

const MISSING_JUMPS =
  '*nat\n-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n' +
  '*filter\n-N KUBE-FORWARD\n-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD\nCOMMIT\n';

const PREROUTING_JUMP = '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES';

test('ensureJumps with legacy: one save per table, then only what is missing in one restore', async () => {
  const saved: Record<string, string> = {
    nat: `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n${PREROUTING_JUMP}\nCOMMIT\n`,
    filter: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n',
  };
  const r = recorder((argv) => ({
    stdout: argv.includes('-t') ? saved[argv[argv.length - 1]] : '',
    stderr: '',
  }));
  const ipt = createIptables({ prefix: 'kdp-u-', backend: 'legacy', run: r.run });
  assert.equal(await ipt.ensureJumps(NS, JUMPS), 3);
  assert.deepEqual(
    r.runs.map((x) => x.argv.slice(2).join(' ')),
    [
      'iptables-legacy-save -t nat',
      'iptables-legacy-save -t filter',
      'iptables-legacy-restore -w 60 --noflush',
    ],
  );
  assert.equal(r.runs[2].input, MISSING_JUMPS);
  assert.deepEqual(await ipt.listChains(NS, 'nat', 'KUBE-'), ['KUBE-SERVICES']);
});

test('ensureJumps with nft: -S of just the chains involved (a missing one is "incompatible"), then one restore', async () => {
  const r = recorder((argv) => {
    const [table, chain] = [argv[argv.indexOf('-t') + 1], argv[argv.indexOf('-S') + 1]];
    if (table === 'nat' && chain === 'PREROUTING')
      return { stdout: `-P PREROUTING ACCEPT\n${PREROUTING_JUMP}\n`, stderr: '' };
    if (table === 'nat' && chain === 'KUBE-SERVICES') return { stdout: '', stderr: '' };
    if (chain === 'KUBE-FORWARD')
      throw new CommandFailed(
        argv,
        1,
        "iptables v1.8.9 (nf_tables): chain `KUBE-FORWARD' in table `filter' is incompatible, use 'nft' tool.\n",
      );
    return { stdout: `-P ${chain} ACCEPT\n`, stderr: '' };
  });
  const ipt = createIptables({ prefix: 'kdp-u-', run: r.run });
  assert.equal(await ipt.ensureJumps(NS, JUMPS), 3);
  assert.deepEqual(
    r.runs.map((x) => x.argv.slice(2).join(' ')),
    [
      'iptables-nft -w 60 -t nat -S PREROUTING',
      'iptables-nft -w 60 -t nat -S OUTPUT',
      'iptables-nft -w 60 -t nat -S KUBE-SERVICES 1',
      'iptables-nft -w 60 -t filter -S FORWARD',
      'iptables-nft -w 60 -t filter -S KUBE-FORWARD 1',
      'iptables-nft-restore -w 60 --noflush',
    ],
  );
  assert.equal(r.runs[5].input, MISSING_JUMPS);
});
