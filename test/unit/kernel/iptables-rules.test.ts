/**
 * The rule parser and printer against iptables itself: every case pairs a rule as written
 * (mostly kube-proxy's spelling) with the line iptables-save 1.8.9 printed for it after a real
 * iptables-legacy-restore in a kdp namespace, so the fake's save output and rule comparisons
 * agree with the kernel's. Malformed rules are refused with a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule } from '../../../dataplane/kernel/iptables/rule-parse.ts';
import { formatProbability, parseProbability } from '../../../dataplane/kernel/iptables/rule-values.ts';
import { tokenizeRestoreLine } from '../../../dataplane/kernel/iptables/tokenize.ts';

/** [as written after `-A CHAIN`, as iptables-save printed it] */
const CANONICAL: [string, string][] = [
  [
    '-m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-AAAA',
    '-d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-AAAA',
  ],
  [
    '-m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    '! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
  ],
  [
    '-m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name KUBE-SEP-A1 --rcheck --seconds 10800 --reap -j KUBE-SEP-A1',
    '-m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A1 --mask 255.255.255.255 --rsource -j KUBE-SEP-A1',
  ],
  [
    '-m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-A1',
    '-m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A1',
  ],
  [
    '-m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-A1 --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80',
    '-p tcp -m comment --comment "ns1/svc1:p80" -m recent --set --name KUBE-SEP-A1 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.1:80',
  ],
  [
    '-m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ',
    '-s 10.180.0.1/32 -m comment --comment "ns1/svc1:p80" -j KUBE-MARK-MASQ',
  ],
  ['-m mark ! --mark 0x4000/0x4000 -j RETURN', '-m mark ! --mark 0x4000/0x4000 -j RETURN'],
  ['-j MARK --xor-mark 0x4000', '-j MARK --set-xmark 0x4000/0x0'],
  ['-j MARK --or-mark 0x4000', '-j MARK --set-xmark 0x4000/0x4000'],
  ['-j MARK --set-mark 0x10', '-j MARK --set-xmark 0x10/0xffffffff'],
  ['-j MARK --set-mark 0x10/0x30', '-j MARK --set-xmark 0x10/0x30'],
  ['-j MARK --and-mark 0xff', '-j MARK --set-xmark 0x0/0xffffff00'],
  ['-j MARK --set-xmark 0x4000', '-j MARK --set-xmark 0x4000/0xffffffff'],
  ['-j MARK --set-mark 16', '-j MARK --set-xmark 0x10/0xffffffff'],
  ['-m mark --mark 16/0x10 -j RETURN', '-m mark --mark 0x10/0x10 -j RETURN'],
  ['-m mark --mark 0x1 -j RETURN', '-m mark --mark 0x1 -j RETURN'],
  [
    '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ],
  [
    '-m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP',
    '-p tcp -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 3001 -j DROP',
  ],
  [
    '-m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  ],
  [
    '-m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT',
    '-d 172.30.0.46/32 -p tcp -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
  ],
  [
    '-m conntrack --ctstate ESTABLISHED,RELATED,NEW -j ACCEPT',
    '-m conntrack --ctstate NEW,RELATED,ESTABLISHED -j ACCEPT',
  ],
  [
    '-m conntrack ! --ctstate DNAT,INVALID,UNTRACKED,SNAT -j ACCEPT',
    '-m conntrack ! --ctstate INVALID,UNTRACKED,SNAT,DNAT -j ACCEPT',
  ],
  [
    '-p tcp --dport 80 --sport 1000:2000 -m comment --comment "with \\"quote\\" inside" -j REJECT --reject-with tcp-reset',
    '-p tcp -m tcp --sport 1000:2000 --dport 80 -m comment --comment "with \\"quote\\" inside" -j REJECT --reject-with tcp-reset',
  ],
  [
    '-p udp -m udp ! --dport 53 -j REJECT --reject-with host-unreach',
    '-p udp -m udp ! --dport 53 -j REJECT --reject-with icmp-host-unreachable',
  ],
  ['-p tcp -m multiport ! --dports 80,443 -j DROP', '-p tcp -m multiport ! --dports 80,443 -j DROP'],
  ['-p udp -m multiport --sports 1:3 -j DROP', '-p udp -m multiport --sports 1:3 -j DROP'],
  [
    '-m addrtype ! --dst-type LOCAL --src-type LOCAL -j RETURN',
    '-m addrtype --src-type LOCAL ! --dst-type LOCAL -j RETURN',
  ],
  ['-s 10.1.2.3/8 -d 10.96.0.10 -i eth+ -j ACCEPT', '-s 10.0.0.0/8 -d 10.96.0.10/32 -i eth+ -j ACCEPT'],
  ['-d 10.0.0.0/255.255.0.0 -j RETURN', '-d 10.0.0.0/16 -j RETURN'],
  [
    '-i eth0 ! -o cni0 -p sctp -m sctp --dport 9 -j ACCEPT',
    '-i eth0 ! -o cni0 -p sctp -m sctp --dport 9 -j ACCEPT',
  ],
  ['-m comment --comment simple -j ACCEPT', '-m comment --comment simple -j ACCEPT'],
  ['-m comment --comment "" -j ACCEPT', '-m comment --comment "" -j ACCEPT'],
  ['-j RETURN -m comment --comment late', '-m comment --comment late -j RETURN'],
  ['-p 6 -j ACCEPT', '-p tcp -j ACCEPT'],
  ['-p all -j ACCEPT', '-j ACCEPT'],
  ['! -p udp -j ACCEPT', '! -p udp -j ACCEPT'],
  // Options go to the last loaded match that knows them (iptables-nft prints these twins merged).
  [
    '-p tcp -m tcp --dport 80 -m tcp --sport 99 -j ACCEPT',
    '-p tcp -m tcp --dport 80 -m tcp --sport 99 -j ACCEPT',
  ],
  [
    '-p tcp -m tcp --dport 80 -m comment --comment x --sport 5 -j ACCEPT',
    '-p tcp -m tcp --sport 5 --dport 80 -m comment --comment x -j ACCEPT',
  ],
  [
    '-p tcp -m comment --comment x --dport 80 -m mark --mark 1 --sport 5 -j ACCEPT',
    '-p tcp -m comment --comment x -m tcp --sport 5 --dport 80 -m mark --mark 0x1 -j ACCEPT',
  ],
  [
    '-m recent ! --update --hitcount 3 --rttl -j ACCEPT',
    '-m recent ! --update --hitcount 3 --rttl --name DEFAULT --mask 255.255.255.255 --rsource -j ACCEPT',
  ],
  [
    '-m recent --remove --name bar --rdest --mask 255.255.0.0 -j ACCEPT',
    '-m recent --remove --name bar --mask 255.255.0.0 --rdest -j ACCEPT',
  ],
  [
    '-m statistic --mode nth --every 3 --packet 0 -j RETURN',
    '-m statistic --mode nth --every 3 --packet 0 -j RETURN',
  ],
  [
    '-m statistic --mode nth ! --every 3 --packet 2 -j RETURN',
    '-m statistic --mode nth ! --every 3 --packet 2 -j RETURN',
  ],
  [
    '-m statistic --mode random ! --probability 0.2 -j RETURN',
    '-m statistic --mode random ! --probability 0.20000000019 -j RETURN',
  ],
  ['-p tcp -j DNAT --to-destination 10.1.1.1', '-p tcp -j DNAT --to-destination 10.1.1.1'],
  ['-p tcp -j DNAT --to-destination 10.1.1.1:80-90', '-p tcp -j DNAT --to-destination 10.1.1.1:80-90'],
  [
    '-p sctp --dport 9 -j DNAT --to-destination 10.1.1.2:9',
    '-p sctp -m sctp --dport 9 -j DNAT --to-destination 10.1.1.2:9',
  ],
  [
    '-p tcp -j MASQUERADE --to-ports 1000-2000 --random',
    '-p tcp -j MASQUERADE --to-ports 1000-2000 --random',
  ],
  [
    '-p udp -j SNAT --to-source 1.2.3.4:100-200 --random-fully',
    '-p udp -j SNAT --to-source 1.2.3.4:100-200 --random-fully',
  ],
  ['-o eth0 -j SNAT --to-source 1.2.3.4', '-o eth0 -j SNAT --to-source 1.2.3.4'],
];

test('rules print exactly as iptables-save prints them', () => {
  const wrong: string[] = [];
  for (const [written, saved] of CANONICAL) {
    const got = parseRule(tokenizeRestoreLine(written)).text;
    if (got !== saved) wrong.push(`${written}\n  got:  ${got}\n  want: ${saved}`);
    // The canonical text is itself restore syntax that parses back to the same rule.
    const again = parseRule(tokenizeRestoreLine(saved)).text;
    if (again !== saved) wrong.push(`not a fixed point: ${saved} -> ${again}`);
  }
  assert.deepEqual(wrong, []);
});

test('probabilities become the kernel fraction of 2^31 and print as iptables-save does', () => {
  const cases: [string, string][] = [
    ['0.3333333333', '0.33333333349'],
    ['0.2500000000', '0.25000000000'],
    ['0.1000000000', '0.10000000009'],
    ['0.0010000000', '0.00100000016'],
    ['0.0909090909', '0.09090909082'],
    ['1', '1.00000000000'],
    ['0.99999999999', '1.00000000000'],
  ];
  for (const [given, saved] of cases) assert.equal(formatProbability(parseProbability(given)), saved, given);
  // A tie at the 12th decimal rounds to even, as printf does: 2^19 / 2^31 = 0.000244140625.
  assert.equal(formatProbability(2 ** 19), '0.00024414062');
});

test('the tokenizer groups double quotes (also inside a word) and escapes within them only', () => {
  assert.deepEqual(tokenizeRestoreLine('-A X -m comment --comment "a b" -j Y'), [
    '-A',
    'X',
    '-m',
    'comment',
    '--comment',
    'a b',
    '-j',
    'Y',
  ]);
  assert.deepEqual(tokenizeRestoreLine('a"b c"d "x\\"y" \'q r\''), ['ab cd', 'x"y', "'q", "r'"]);
  assert.throws(() => tokenizeRestoreLine('-m comment --comment "open'), /unterminated quote/);
});

test('malformed or unmodelled rules are refused with a reason', () => {
  const bad: [string, RegExp][] = [
    ['-p tcp --dportx 80 -j RETURN', /unknown option "--dportx"/],
    ['--dport 80 -j RETURN', /unknown option "--dport"/],
    ['-p udp -m tcp --dport 80', /tcp match needs `-p tcp'/],
    ['-m comment --comment y -m mark --mark 2 --comment z', /multiple --comment/],
    ['-m statistic --mode nth --every 3', /--packet/],
    ['-m statistic --mode random --probability 1.5', /out of range/],
    ['-m recent --name X', /one of --set, --rcheck/],
    ['-m recent --set --seconds 10', /need --rcheck or --update/],
    ['-m recent --rcheck --reap', /--reap needs --seconds/],
    ['-j DNAT --to-destination 10.0.0.1:80', /Need TCP, UDP, SCTP or DCCP/],
    ['-p tcp -j DNAT', /DNAT needs --to-destination/],
    ['-p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.9', /bad IP address/],
    ['-j LOG', /target `LOG' is not modelled/],
    ['-m owner --uid-owner 0', /match `owner' is not modelled/],
    ['-s 10.0.0.300 -j ACCEPT', /host\/network/],
    ['-s 10.0.0.0/33 -j ACCEPT', /invalid mask/],
    ['-j KUBE-SVC-ABCDEFGHIJKLMNOPQRST', /28 chars max/],
    ['-j -X', /Invalid chain name/],
    ['-p udp -j REJECT --reject-with tcp-reset', /tcp-reset needs -p tcp/],
    ['-j ACCEPT -j DROP', /multiple -j/],
    ['! -j ACCEPT', /cannot be negated/],
    ['-j ACCEPT !', /trailing !/],
    ['-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16', /too many ports/],
    ['-p tcp -m tcp --dport 90:80', /invalid port range/],
    ['-m mark --mark 0x100000000', /out of range/],
    ['extra', /Bad argument `extra'/],
  ];
  for (const [args, message] of bad) assert.throws(() => parseRule(tokenizeRestoreLine(args)), message, args);
});

test('a comment is cut to 255 characters as the kernel keeps it', () => {
  const rule = parseRule(['-m', 'comment', '--comment', 'x'.repeat(300), '-j', 'RETURN']);
  assert.equal(rule.text, `-m comment --comment ${'x'.repeat(255)} -j RETURN`);
});
