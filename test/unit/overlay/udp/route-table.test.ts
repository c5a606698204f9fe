// The udp engine's route table: longest-prefix match, the set of node addresses datagrams are
// accepted from, rejection of unusable routes, and correct answers with hundreds of nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdpError } from '../../../../dataplane/errors.ts';
import { cidrToUint32, ipv4ToUint32, uint32ToIpv4 } from '../../../../dataplane/kernel/cidr.ts';
import { RouteTable } from '../../../../dataplane/overlay/backends/udp/route-table.ts';

const ip = (text: string) => ipv4ToUint32(text)!;

test('addresses and CIDRs parse strictly', () => {
  assert.equal(ipv4ToUint32('10.244.1.5'), 0x0af40105);
  assert.equal(ipv4ToUint32('255.255.255.255'), 0xffffffff);
  for (const bad of ['10.244.1', '10.244.1.256', '10.244.1.5.6', '10.244.1.-1', '', 'a.b.c.d', '1.2.3.04x']) {
    assert.equal(ipv4ToUint32(bad), undefined, bad);
  }
  assert.equal(uint32ToIpv4(0xc6120002), '198.18.0.2');
  assert.deepEqual(cidrToUint32('10.244.1.7/16'), { network: 0x0af40000, prefix: 16 });
  assert.deepEqual(cidrToUint32('0.0.0.0/0'), { network: 0, prefix: 0 });
  for (const bad of ['10.244.1.0', '10.244.1.0/33', '10.244.1.0/', '10.244.1.0/24/1']) {
    assert.equal(cidrToUint32(bad), undefined, bad);
  }
});

test('the most specific route wins, whatever the order they were given in', () => {
  const table = RouteTable.from([
    { subnet: '10.0.0.0/8', nodeIp: '198.18.0.8' },
    { subnet: '10.244.3.128/25', nodeIp: '198.18.0.25' },
    { subnet: '10.244.3.0/24', nodeIp: '198.18.0.24' },
    { subnet: '10.244.3.200/32', nodeIp: '198.18.0.32' },
  ]);
  assert.equal(table.lookup(ip('10.244.3.1')), '198.18.0.24');
  assert.equal(table.lookup(ip('10.244.3.129')), '198.18.0.25');
  assert.equal(table.lookup(ip('10.244.3.200')), '198.18.0.32');
  assert.equal(table.lookup(ip('10.1.2.3')), '198.18.0.8');
  assert.equal(table.lookup(ip('192.168.0.1')), undefined);
  assert.equal(RouteTable.empty.lookup(ip('10.244.3.1')), undefined);
  const everything = RouteTable.from([{ subnet: '0.0.0.0/0', nodeIp: '198.18.0.1' }]);
  assert.equal(everything.lookup(ip('203.0.113.9')), '198.18.0.1');
});

test('only route node addresses are peers; they are normalised as dgram reports senders', () => {
  const table = RouteTable.from([
    { subnet: '10.244.2.0/24', nodeIp: '198.18.0.2' },
    { subnet: '10.244.4.0/24', nodeIp: '198.18.0.2' },
    { subnet: '10.244.5.0/24', nodeIp: '198.18.0.5' },
  ]);
  assert.equal(table.isNode('198.18.0.2'), true);
  assert.equal(table.isNode('198.18.0.5'), true);
  assert.equal(table.isNode('198.18.0.3'), false);
  assert.equal(table.isNode('10.244.2.1'), false);
  assert.equal(table.nodeCount, 2);
});

test('unusable routes and a subnet routed twice are refused with KDP_ERR_OVERLAY_ROUTE', () => {
  for (const routes of [
    [{ subnet: '10.244.2.0', nodeIp: '198.18.0.2' }],
    [{ subnet: '10.244.2.0/24', nodeIp: 'node-2' }],
    [
      { subnet: '10.244.2.0/24', nodeIp: '198.18.0.2' },
      { subnet: '10.244.2.9/24', nodeIp: '198.18.0.3' },
    ],
  ]) {
    assert.throws(
      () => RouteTable.from(routes),
      (e) => isKdpError(e, 'KDP_ERR_OVERLAY_ROUTE'),
    );
  }
});

test('hundreds of nodes: every subnet maps to its own node, and nothing else matches', () => {
  const routes = [];
  for (let i = 0; i < 1000; i++) {
    routes.push({ subnet: `10.${100 + (i >> 8)}.${i & 0xff}.0/24`, nodeIp: `198.18.${i >> 8}.${i & 0xff}` });
  }
  const table = RouteTable.from(routes);
  for (let i = 0; i < 1000; i++) {
    assert.equal(table.lookup(ip(`10.${100 + (i >> 8)}.${i & 0xff}.77`)), `198.18.${i >> 8}.${i & 0xff}`);
  }
  assert.equal(table.lookup(ip('10.104.0.1')), undefined);
  assert.equal(table.nodeCount, 1000);
});
