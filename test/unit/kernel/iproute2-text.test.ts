/**
 * The text side of the iproute2 implementation, without root: NetOps as `ip` arguments, JSON
 * output parsed into LinkInfo/AddressInfo/RouteInfo/NeighbourInfo, lane scripts (valid sh, values quoted,
 * failures attributed to the right group and run), and kernel messages mapped to error codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describeOp, ipArgs } from '../../../dataplane/kernel/iproute2/commands.ts';
import {
  parseAddresses,
  parseLinks,
  parseNeighbours,
  parseRoutes,
} from '../../../dataplane/kernel/iproute2/parse.ts';
import {
  laneFailures,
  laneScript,
  shellQuote,
  sysctlFailure,
} from '../../../dataplane/kernel/iproute2/lanes.ts';
import { failedBatchLines, kernelMessage } from '../../../dataplane/kernel/iproute2/run-command.ts';
import { keyOfPath } from '../../../dataplane/kernel/iproute2/sysctl.ts';
import { KERNEL_ERR, classifyKernelMessage } from '../../../dataplane/kernel/errors.ts';
import { sysctlPath } from '../../../dataplane/kernel/check.ts';
import { NetworkPlan, toolRuns } from '../../../dataplane/kernel/network-plan.ts';

test('ops become ip arguments', () => {
  const p = new NetworkPlan()
    .addVeth({ ns: 'kdp-a-n', name: 'veth1', peerNs: 'kdp-a-p', peerName: 'eth0', mtu: 1450 })
    .addVeth({ ns: 'kdp-a-n', name: 'v1', peerNs: 'kdp-a-n', peerName: 'v2' })
    .addBridge('kdp-a-n', 'cni0', { mtu: 1450 })
    .setLink('kdp-a-n', 'veth1', { master: 'cni0', mtu: 1450, up: true })
    .setLink('kdp-a-n', 'veth1', { master: null, up: false })
    .moveLink('kdp-a-n', 'v1', 'kdp-a-p')
    .deleteLink('kdp-a-n', 'v2')
    .addAddress('kdp-a-n', 'cni0', '10.244.0.1/24')
    .deleteAddress('kdp-a-n', 'cni0', '10.244.0.1/24')
    .addRoute('kdp-a-n', {
      dst: '10.244.1.0/24',
      via: '198.18.0.2',
      dev: 'eth0',
      src: '10.244.0.1',
      table: 100,
      metric: 5,
      onlink: true,
    })
    .replaceRoute('kdp-a-n', { dst: 'default', via: '10.0.0.1' })
    .deleteRoute('kdp-a-n', { dst: 'default' })
    .setLink('kdp-a-p', 'eth0', { address: '0a:58:0a:f4:00:05', up: true })
    .addNeighbour('kdp-a-n', { ip: '10.244.0.5', dev: 'cni0', lladdr: '0a:58:0a:f4:00:05' })
    .replaceNeighbour('kdp-a-p', { ip: '10.244.0.1', dev: 'eth0', lladdr: '02:6b:64:70:00:01' })
    .deleteNeighbour('kdp-a-n', { ip: '10.244.0.5', dev: 'cni0' });
  assert.deepEqual(
    p.ops.map((op) => ipArgs(op)?.join(' ')),
    [
      'link add name veth1 mtu 1450 type veth peer name eth0 mtu 1450 netns kdp-a-p',
      'link add name v1 type veth peer name v2',
      'link add name cni0 mtu 1450 type bridge',
      'link set dev veth1 master cni0 mtu 1450 up',
      'link set dev veth1 nomaster down',
      'link set dev v1 netns kdp-a-p',
      'link del dev v2',
      'address add 10.244.0.1/24 dev cni0',
      'address del 10.244.0.1/24 dev cni0',
      'route add 10.244.1.0/24 via 198.18.0.2 dev eth0 src 10.244.0.1 table 100 metric 5 onlink',
      'route replace default via 10.0.0.1',
      'route del default',
      'link set dev eth0 address 0a:58:0a:f4:00:05 up',
      'neigh add 10.244.0.5 lladdr 0a:58:0a:f4:00:05 dev cni0 nud permanent',
      'neigh replace 10.244.0.1 lladdr 02:6b:64:70:00:01 dev eth0 nud permanent',
      'neigh del 10.244.0.5 dev cni0',
    ],
  );
  assert.equal(describeOp(p.ops[2]), 'ip link add name cni0 mtu 1450 type bridge');
  assert.equal(
    describeOp({ kind: 'sysctl.set', ns: 'kdp-a-n', key: 'net.ipv4.ip_forward', value: '1' }),
    'sysctl -w net.ipv4.ip_forward=1',
  );
  assert.equal(
    ipArgs({ kind: 'sysctl.set', ns: 'kdp-a-n', key: 'net.ipv4.ip_forward', value: '1' }),
    undefined,
  );
});

test('ip -j link/address/route output parses into the kernel layer shapes', () => {
  const links = JSON.stringify([
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, link_type: 'loopback' },
    {
      ifindex: 2,
      ifname: 'cni0',
      flags: ['BROADCAST', 'UP'],
      mtu: 1500,
      link_type: 'ether',
      address: '02:6b:64:70:00:01',
      linkinfo: { info_kind: 'bridge' },
    },
    {
      ifindex: 3,
      ifname: 'veth1',
      flags: ['BROADCAST'],
      mtu: 1450,
      master: 'cni0',
      linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' },
    },
    { ifindex: 4, ifname: 'ifb0', flags: [], mtu: 1500, link_type: 'ether' },
  ]);
  assert.deepEqual(parseLinks(links), [
    { name: 'lo', kind: 'loopback', mtu: 65536, up: true },
    { name: 'cni0', kind: 'bridge', mtu: 1500, up: true, address: '02:6b:64:70:00:01' },
    { name: 'veth1', kind: 'veth', mtu: 1450, up: false, master: 'cni0' },
    { name: 'ifb0', kind: 'device', mtu: 1500, up: false },
  ]);
  const addrs = JSON.stringify([
    {
      ifname: 'lo',
      addr_info: [
        { family: 'inet', local: '127.0.0.1', prefixlen: 8 },
        { family: 'inet6', local: '::1', prefixlen: 128 },
      ],
    },
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '198.18.0.1', prefixlen: 16 }] },
    {},
  ]);
  assert.deepEqual(parseAddresses(addrs), [
    { dev: 'lo', cidr: '127.0.0.1/8' },
    { dev: 'eth0', cidr: '198.18.0.1/16' },
  ]);
  const routes = JSON.stringify([
    { dst: 'default', gateway: '10.244.0.1', dev: 'eth0', flags: [] },
    {
      dst: '10.244.0.0/24',
      dev: 'eth0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '10.244.0.2',
      flags: ['linkdown'],
    },
    {
      type: 'local',
      dst: '10.244.0.2',
      dev: 'eth0',
      table: 'local',
      protocol: 'kernel',
      scope: 'host',
      prefsrc: '10.244.0.2',
      flags: [],
    },
    { dst: '10.9.0.0/24', gateway: '10.7.0.1', dev: 'eth0', table: '100', metric: 7, flags: ['onlink'] },
  ]);
  assert.deepEqual(parseRoutes(routes), [
    { dst: 'default', table: 254, type: 'unicast', via: '10.244.0.1', dev: 'eth0' },
    {
      dst: '10.244.0.0/24',
      table: 254,
      type: 'unicast',
      dev: 'eth0',
      src: '10.244.0.2',
      protocol: 'kernel',
      scope: 'link',
    },
    {
      dst: '10.244.0.2',
      table: 255,
      type: 'local',
      dev: 'eth0',
      src: '10.244.0.2',
      protocol: 'kernel',
      scope: 'host',
    },
    {
      dst: '10.9.0.0/24',
      table: 100,
      type: 'unicast',
      via: '10.7.0.1',
      dev: 'eth0',
      metric: 7,
      onlink: true,
    },
  ]);
  assert.deepEqual(parseLinks(''), []);
  assert.throws(() => parseLinks('{"not":"an array"}'), TypeError);
});

test('ip -j neigh output parses, with the device filled in when one device was listed', () => {
  // As iproute2 6.1 prints them (`ip -j -4 neigh show` and `... show dev cni0`).
  const all = JSON.stringify([
    { dst: '10.244.0.5', dev: 'cni0', lladdr: '0a:58:0a:f4:00:05', state: ['PERMANENT'] },
    { dst: '198.18.0.2', dev: 'eth0', lladdr: '0a:58:c6:12:00:02', state: ['REACHABLE'] },
    { dst: '198.18.0.9', dev: 'eth0', state: ['FAILED'] },
  ]);
  assert.deepEqual(parseNeighbours(all), [
    { ip: '10.244.0.5', dev: 'cni0', lladdr: '0a:58:0a:f4:00:05', state: 'permanent' },
    { ip: '198.18.0.2', dev: 'eth0', lladdr: '0a:58:c6:12:00:02', state: 'reachable' },
    { ip: '198.18.0.9', dev: 'eth0', state: 'failed' },
  ]);
  const one = JSON.stringify([{ dst: '10.244.0.5', lladdr: '0a:58:0a:f4:00:05', state: ['PERMANENT'] }]);
  assert.deepEqual(parseNeighbours(one, 'cni0'), [
    { ip: '10.244.0.5', dev: 'cni0', lladdr: '0a:58:0a:f4:00:05', state: 'permanent' },
  ]);
  assert.deepEqual(parseNeighbours(''), []);
});

test('batch stderr: the failed line numbers and the kernel words without the bookkeeping', () => {
  const stderr =
    'Error: Nexthop has invalid gateway.\nCommand failed -:4\nRTNETLINK answers: File exists\nCommand failed -:7\n';
  assert.deepEqual(failedBatchLines(stderr), [4, 7]);
  assert.equal(kernelMessage(stderr), 'Nexthop has invalid gateway.; File exists');
});

test('kernel messages map to codes', () => {
  const cases: [string, string][] = [
    ['RTNETLINK answers: File exists', KERNEL_ERR.exists],
    ['Error: ipv4: Address already assigned.', KERNEL_ERR.exists],
    ['Error: An interface with the same name exists in the target netns.', KERNEL_ERR.exists],
    ['Error: Nexthop has invalid gateway.', KERNEL_ERR.unreachable],
    ['Error: Device for nexthop is not up.', KERNEL_ERR.unreachable],
    ['Cannot find device "nosuch"', KERNEL_ERR.notFound],
    ['RTNETLINK answers: No such process', KERNEL_ERR.notFound],
    ['Error: argument "x" is wrong: Invalid "netns" value', KERNEL_ERR.notFound],
    ['Cannot open network namespace "kdp-x": No such file or directory', KERNEL_ERR.notFound],
    ['nsenter: cannot open /run/netns/kdp-x: No such file or directory', KERNEL_ERR.notFound],
    ['cannot create /proc/sys/net/ipv4/nope: Directory nonexistent', KERNEL_ERR.notFound],
    ['Error: Attribute failed policy validation.', KERNEL_ERR.invalid],
    ['RTNETLINK answers: Operation not supported', KERNEL_ERR.invalid],
    ['Error: mtu greater than device maximum.', KERNEL_ERR.invalid],
    ['printf: I/O error', KERNEL_ERR.invalid],
    ['Error: Invalid prefix for given prefix length.', KERNEL_ERR.invalid],
    ['RTNETLINK answers: Operation not permitted', KERNEL_ERR.command],
  ];
  for (const [message, code] of cases) assert.equal(classifyKernelMessage(message), code, message);
});

test('sysctl keys map to /proc/sys paths and back, and cannot leave /proc/sys/net', () => {
  assert.equal(sysctlPath('net.ipv4.ip_forward', 'op'), '/proc/sys/net/ipv4/ip_forward');
  assert.equal(
    sysctlPath('net.ipv4.conf.eth0/100.forwarding', 'op'),
    '/proc/sys/net/ipv4/conf/eth0.100/forwarding',
  );
  assert.equal(keyOfPath('/proc/sys/net/ipv4/conf/eth0.100/forwarding'), 'net.ipv4.conf.eth0/100.forwarding');
  for (const bad of [
    'kernel.panic',
    'net',
    'net..ipv4',
    'net.ipv4.conf.all.forwarding ',
    'net.ipv4.a b',
    'net.$(x)',
  ])
    assert.throws(() => sysctlPath(bad, 'op'), /not a net\.\* sysctl key/, bad);
  const failed = sysctlFailure(
    'sh: 1: cannot create /proc/sys/net/ipv4/nope: Directory nonexistent\nkdp-sysctl-failed: /proc/sys/net/ipv4/nope\n',
  );
  assert.deepEqual(failed, {
    path: '/proc/sys/net/ipv4/nope',
    message: 'cannot create /proc/sys/net/ipv4/nope: Directory nonexistent',
  });
});

test('lane scripts are valid sh, quote values, and carry batch lines verbatim', () => {
  const plan = new NetworkPlan()
    .setSysctl('kdp-a-n', 'net.ipv4.ip_local_port_range', "1024 65000'; echo pwned '")
    .setLink('kdp-a-n', 'lo', { up: true })
    .addRoute('kdp-a-n', { dst: 'default', via: '10.0.0.1' })
    .setLink('kdp-a-p', 'lo', { up: true });
  const paths = new Map(
    plan.ops.flatMap((op) => (op.kind === 'sysctl.set' ? [[op, sysctlPath(op.key, 'op')]] : [])),
  );
  const script = laneScript([
    { id: 0, ns: 'kdp-a-n', runs: toolRuns(plan.ops.slice(0, 3)), sysctlPaths: paths },
    { id: 1, ns: 'kdp-a-p', runs: toolRuns(plan.ops.slice(3)), sysctlPaths: paths },
  ]);
  const syntax = spawnSync('sh', ['-n'], { input: script });
  assert.equal(syntax.status, 0, syntax.stderr.toString());
  assert.match(
    script,
    /nsenter --net='\/run\/netns\/kdp-a-n' ip -batch - <<'KDP_EOF' \|\| return 1\nlink set dev lo up\nroute add default via 10\.0\.0\.1\nKDP_EOF/,
  );
  assert.ok(script.includes(shellQuote("1024 65000'; echo pwned '")));
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
});

test("lane failures are attributed to their group and run with that run's messages only", () => {
  const stderr = [
    'kdp-group 0',
    'kdp-run 0',
    'kdp-run 1',
    'kdp-group 1',
    'kdp-run 0',
    'Error: Nexthop has invalid gateway.',
    'Command failed -:3',
    'kdp-failed 1',
    'kdp-group 2',
    'kdp-run 0',
    'sh: 1: cannot create /proc/sys/net/ipv4/nope: Directory nonexistent',
    'kdp-sysctl-failed: /proc/sys/net/ipv4/nope',
    'kdp-failed 2',
    '',
  ].join('\n');
  assert.deepEqual(laneFailures(stderr), [
    { group: 1, run: 0, stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:3' },
    {
      group: 2,
      run: 0,
      stderr:
        'sh: 1: cannot create /proc/sys/net/ipv4/nope: Directory nonexistent\nkdp-sysctl-failed: /proc/sys/net/ipv4/nope',
    },
  ]);
});
