/**
 * openTun for real (root), in a namespace of its own (kdp-h1test-tun) so the host's root namespace
 * never sees a device: the flags asked for are the device's (no packet info, vnet header on or off,
 * multi-queue), a second queue attaches to a multi-queue device, the device goes away with its last
 * fd, and the kernel's refusal comes back as an Error naming the call and errno.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const NS = 'kdp-h1test-tun';
const ADDON = fileURLToPath(
  new URL('../../../dataplane/overlay/backends/udp/native-binding.ts', import.meta.url),
);

after(async () => {
  if (isRoot) await run('ip', ['netns', 'del', NS]).catch(() => undefined);
});

/** Runs `body` (a module script with `openTun`, `ip` and `say` in scope) inside the namespace. */
async function inTunNamespace(body: string): Promise<unknown> {
  const script = `
    import { openTun } from ${JSON.stringify(ADDON)};
    import { execFileSync } from 'node:child_process';
    import { closeSync } from 'node:fs';
    const ip = (...a) => execFileSync('ip', a).toString();
    const say = (v) => console.log(JSON.stringify(v));
    ${body}`;
  const { stdout } = await run('ip', [
    'netns',
    'exec',
    NS,
    process.execPath,
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    script,
  ]);
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

test(
  'openTun creates the device it is asked for, and it goes with its last fd',
  { skip: !isRoot && 'needs root' },
  async () => {
    await run('ip', ['netns', 'add', NS]);
    const r = (await inTunNamespace(`
    const plain = openTun('kdptun0', { vnetHdr: false });
    const vnet = openTun('kdptun1', { vnetHdr: true });
    const mq1 = openTun('kdptun2', { vnetHdr: true, multiQueue: true });
    const mq2 = openTun('kdptun2', { vnetHdr: true, multiQueue: true });
    const links = [0, 1, 2].map((i) => ip('-d', 'link', 'show', 'kdptun' + i));
    for (const fd of [plain, vnet, mq1]) closeSync(fd);
    const afterSome = ip('link', 'show');
    closeSync(mq2);
    let refused = {};
    try { openTun('kdptun1', { vnetHdr: false, multiQueue: true }); openTun('kdptun1', { vnetHdr: false }); }
    catch (e) { refused = { message: e.message, code: e.code }; }
    say({ fds: [plain, vnet, mq1, mq2], links, afterSome, afterAll: ip('link', 'show'), refused });
  `)) as {
      fds: number[];
      links: string[];
      afterSome: string;
      afterAll: string;
      refused: { message: string; code: string };
    };
    assert.ok(r.fds.every((fd) => Number.isInteger(fd) && fd > 2));
    assert.match(r.links[0]!, /tun type tun pi off vnet_hdr off/);
    assert.match(r.links[1]!, /tun type tun pi off vnet_hdr on/);
    assert.match(r.links[2]!, /multi_queue/);
    assert.doesNotMatch(r.afterSome, /kdptun0|kdptun1/, 'a closed device is gone');
    assert.match(r.afterSome, /kdptun2/, 'a multi-queue device stays while a queue is open');
    assert.doesNotMatch(r.afterAll, /kdptun2/);
    // A single-queue open of a name that is a multi-queue device is refused by the kernel.
    assert.match(r.refused.message, /^ioctl TUNSETIFF kdptun1: EINVAL \(Invalid argument\)$/);
    assert.equal(r.refused.code, 'EINVAL');
  },
);
