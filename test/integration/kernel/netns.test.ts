/**
 * The real namespace and sysctl facilities: create, list by prefix, exists, exec, delete and
 * deleteMany (which goes on past a missing name and then reports it), the host-namespace guard
 * refusing before any process runs, and errors that name the command and carry the tool's words.
 * Run as root: node --import tsx --test test/integration/kernel/netns.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isKdpError } from '../../../dataplane/errors.ts';
import { KERNEL_ERR } from '../../../dataplane/kernel/errors.ts';
import { withIsolatedKernel } from './isolated.ts';

test('namespaces: create, list, exists, exec inside, delete; errors typed and named', async (t) => {
  await withIsolatedKernel(t, async (k, cluster) => {
    const a = `kdp-${cluster}-a`;
    const b = `kdp-${cluster}-b`;
    await k.netns.create(a);
    await k.netns.create(b);
    assert.deepEqual(await k.netns.list(k.prefix), [a, b]);
    assert.equal(await k.netns.exists(a), true);
    assert.equal(k.netns.path(a), `/run/netns/${a}`);
    assert.ok(existsSync(k.netns.path(a)));
    await assert.rejects(
      k.netns.create(a),
      (e) => isKdpError(e, KERNEL_ERR.exists) && /File exists/.test(e.message),
    );

    // A fresh namespace has only a down loopback: exec really runs inside it.
    const { stdout } = await k.netns.exec(a, ['ip', '-o', 'link', 'show']);
    assert.match(stdout, /^1: lo: <LOOPBACK> /);
    assert.equal(stdout.trim().split('\n').length, 1);
    await assert.rejects(k.netns.exec(a, ['sh', '-c', 'echo bad >&2; exit 3']), (e) => {
      assert.ok(isKdpError(e, KERNEL_ERR.command));
      assert.match(
        e.message,
        /^sh -c echo bad >&2; exit 3 in namespace kdp-t[0-9a-f]+-a: exited with status 3: bad$/,
      );
      return true;
    });
    await assert.rejects(k.netns.exec(`kdp-${cluster}-missing`, ['true']), (e) =>
      isKdpError(e, KERNEL_ERR.notFound),
    );

    await assert.rejects(k.netns.deleteMany([a, `kdp-${cluster}-missing`, b]), (e) => {
      assert.ok(isKdpError(e, KERNEL_ERR.notFound));
      assert.match(e.message, /netns del kdp-t[0-9a-f]+-missing/);
      return true;
    });
    assert.deepEqual(await k.netns.list(k.prefix), []);
    assert.equal(await k.netns.exists(a), false);
  });
});

test('the guard refuses the host namespace and foreign names before running anything', async (t) => {
  await withIsolatedKernel(t, async (k) => {
    const refused = (e: unknown) => isKdpError(e, KERNEL_ERR.hostNamespace);
    await assert.rejects(k.links.addBridge('', 'br0'), refused);
    await assert.rejects(k.routes.add('kdp-someone-else', { dst: 'default', dev: 'eth0' }), refused);
    await assert.rejects(k.sysctl.set('default', 'net.ipv4.ip_forward', '1'), refused);
    await assert.rejects(k.netns.create('kdp-not-this-test'), refused);
    await assert.rejects(k.netns.deleteMany(['init']), refused);
    await assert.rejects(k.netns.exec('1', ['true']), refused);
    await assert.rejects(k.links.list(''), refused);
  });
});

test('sysctls inside a namespace: read, write several at once, errors name the key', async (t) => {
  await withIsolatedKernel(t, async (k, cluster) => {
    const a = `kdp-${cluster}-a`;
    await k.netns.create(a);
    assert.equal(await k.sysctl.get(a, 'net.ipv4.ip_forward'), '0');
    await k.sysctl.setMany(a, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '2' });
    assert.equal(await k.sysctl.get(a, 'net.ipv4.ip_forward'), '1');
    assert.equal(await k.sysctl.get(a, 'net.ipv4.conf.all.rp_filter'), '2');
    await assert.rejects(k.sysctl.setMany(a, { 'net.core.somaxconn': '512', 'net.ipv4.nope': '1' }), (e) => {
      assert.ok(isKdpError(e, KERNEL_ERR.notFound));
      assert.match(e.message, /^sysctl -w net\.ipv4\.nope=1 in namespace kdp-t[0-9a-f]+-a: .*nonexistent/);
      return true;
    });
    assert.equal(
      await k.sysctl.get(a, 'net.core.somaxconn'),
      '512',
      'keys before the failing one were written',
    );
  });
});
