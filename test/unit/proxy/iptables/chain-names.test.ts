// Chain names and probabilities as kube-proxy writes them: the hashes upstream's own tests expect,
// and Go's %0.10f rounding of 1/n (ties to even on the exact binary value).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  makeIptablesEndpoint,
  makeIptablesServicePort,
} from '../../../../dataplane/proxy/iptables/iptables-model.ts';
import {
  endpointChainName,
  isServiceChain,
  portProtoHash,
  probability,
} from '../../../../dataplane/proxy/iptables/chain-names.ts';
import { servicePortsOf } from '../../../../dataplane/proxy/service-model.ts';
import { svc } from '../../../../dataplane/proxy/compliance/index.ts';

test('service and endpoint chain hashes match upstream (ns1/svc1:p80, 10.180.0.1:80)', () => {
  assert.equal(portProtoHash('ns1/svc1:p80', 'TCP'), 'XPGD46QRK7WJZT7O');
  assert.equal(endpointChainName('ns1/svc1:p80', 'TCP', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
});

test('the model factories attach every chain name once', () => {
  const [port] = servicePortsOf(
    svc('svc1', '172.30.0.41', { ports: [{ name: 'p80', protocol: 'TCP', port: 80 }] }),
  );
  assert.equal(port.id, 'ns1/svc1:p80');
  const s = makeIptablesServicePort(port);
  assert.equal(s.proto, 'tcp');
  assert.equal(s.svcChain, 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(s.svlChain, 'KUBE-SVL-XPGD46QRK7WJZT7O');
  assert.equal(s.extChain, 'KUBE-EXT-XPGD46QRK7WJZT7O');
  assert.equal(s.fwChain, 'KUBE-FW-XPGD46QRK7WJZT7O');
  const e = makeIptablesEndpoint(
    {
      key: '10.180.0.1:80',
      ip: '10.180.0.1',
      port: 80,
      ready: true,
      serving: true,
      terminating: false,
      isLocal: false,
      zone: '',
      nodeName: '',
    },
    'ns1/svc1:p80/TCP',
  );
  assert.equal(e.chain, 'KUBE-SEP-SXIVWICOYRO3J4NJ');
});

test('probabilities print as Go %0.10f of 1/n', () => {
  assert.equal(probability(2), '0.5000000000');
  assert.equal(probability(3), '0.3333333333');
  assert.equal(probability(6), '0.1666666667');
  assert.equal(probability(7), '0.1428571429');
  assert.equal(probability(1000), '0.0010000000');
  // 1/2048 = 0.00048828125 exactly: a tie, rounded to the even digit (toFixed would give ...13).
  assert.equal(probability(2048), '0.0004882812');
  // 1/10240 is not exact in binary; its double lies just above the tie, so it rounds up.
  assert.equal(probability(10240), '0.0000976563');
  // (Both, and every n up to 200000, checked against C's printf %.10f, which rounds like Go's.)
  for (let n = 2; n < 500; n++) {
    const p = probability(n);
    assert.match(p, /^0\.\d{10}$/);
    assert.ok(Math.abs(Number(p) - 1 / n) <= 0.5e-10 + 1e-16, `1/${n} -> ${p}`);
  }
});

test('service chains are told apart from the fixed ones', () => {
  for (const c of ['KUBE-SVC-A', 'KUBE-SVL-A', 'KUBE-EXT-A', 'KUBE-FW-A', 'KUBE-SEP-A'])
    assert.ok(isServiceChain(c));
  for (const c of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING', 'OTHER'])
    assert.ok(!isServiceChain(c));
});
