// The agent's watch on its supervisor: onGone fires once the process is gone, exactly once, and
// not while it lives; a process owned by someone else (EPERM) counts as alive.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { processExists, watchSupervisor } from '../../../dataplane/agent/supervisor-watch.ts';
import { until } from '../../helpers/until.ts';

test('onGone fires once the watched process has exited, and only once', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  const exited = new Promise((r) => child.once('exit', r));
  let gone = 0;
  const unwatch = watchSupervisor(child.pid!, () => gone++, { periodMs: 10 });
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gone, 0, 'not while it runs');
    child.kill('SIGKILL');
    await exited;
    await until('onGone to fire', () => gone > 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(gone, 1);
  } finally {
    unwatch();
  }
});

test('a stopped watch never fires', async () => {
  let probes = 0;
  let gone = false;
  const unwatch = watchSupervisor(1, () => (gone = true), {
    periodMs: 5,
    exists: () => (probes++, probes < 3),
  });
  unwatch();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(gone, false);
  assert.equal(probes, 0);
});

test('processExists: this process yes, an exited one no', async () => {
  assert.equal(processExists(process.pid), true);
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  assert.equal(processExists(child.pid!), false);
});
