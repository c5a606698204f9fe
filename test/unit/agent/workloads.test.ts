// The built-in servers as pods run them (bundled into one JavaScript file, started with plain
// node), here on 127.0.0.1 with ports picked by the kernel: the HTTP server answers its pod name,
// the echo server echoes TCP and UDP, both set their process title and exit 0 on SIGTERM. And the
// host runner's process facts from /proc: identity by start time, open ports, group signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkloads } from '../../../dataplane/agent/workloads/bundle.ts';
import { HostProcessRunner } from '../../../dataplane/agent/workloads/processes.ts';

interface Server {
  child: ChildProcess;
  listening: { protocol: string; port: number }[];
}

async function startServer(script: string, title: string, args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [script, title, ...args, '--bind', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { KDP_POD_NAME: 'from-env' },
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, listening: JSON.parse(line.toString()).listening };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  return code as number | null;
}

async function withBundle(body: (script: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'kdp-workloads-'));
  try {
    await body(await bundleWorkloads(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('kdp/http answers its pod name, sets its title and exits 0 on SIGTERM', async () => {
  await withBundle(async (script) => {
    const s = await startServer(script, 'kdp:tunit:pod:default/web-1', [
      'http',
      '--port',
      '0',
      '--name',
      'web-1',
    ]);
    try {
      const [{ port }] = s.listening;
      const res = await fetch(`http://127.0.0.1:${port}/anything`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'web-1\n');
      const cmdline = await readFile(`/proc/${s.child.pid}/cmdline`, 'utf8');
      assert.ok(cmdline.startsWith('kdp:tunit:pod:default/web-1'), cmdline);
    } finally {
      assert.equal(await stop(s.child), 0);
    }
    const fromEnv = await startServer(script, 't', ['http', '--port', '0']);
    try {
      const res = await fetch(`http://127.0.0.1:${fromEnv.listening[0].port}/`);
      assert.equal(await res.text(), 'from-env\n');
    } finally {
      await stop(fromEnv.child);
    }
  });
});

test('kdp/echo echoes TCP and UDP', async () => {
  await withBundle(async (script) => {
    const s = await startServer(script, 't', ['echo', '--tcp', '0', '--udp', '0']);
    try {
      const tcp = s.listening.find((l) => l.protocol === 'TCP')!.port;
      const udp = s.listening.find((l) => l.protocol === 'UDP')!.port;
      const sock = net.connect(tcp, '127.0.0.1');
      sock.end('hello tcp');
      let got = '';
      for await (const chunk of sock) got += chunk;
      assert.equal(got, 'hello tcp');

      const u = dgram.createSocket('udp4');
      try {
        u.send('hello udp', udp, '127.0.0.1');
        const [msg] = (await once(u, 'message')) as [Buffer];
        assert.equal(msg.toString(), 'hello udp');
      } finally {
        u.close();
      }
    } finally {
      assert.equal(await stop(s.child), 0);
    }
  });
});

test('an unknown server kind exits non-zero with the reason', async () => {
  await withBundle(async (script) => {
    const child = spawn(process.execPath, [script, 't', 'gopher'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(err, /unknown built-in server "gopher"/);
  });
});

test('the host runner knows a process by pid and start time, sees its open ports and signals its group', async () => {
  await withBundle(async (script) => {
    const runner = new HostProcessRunner();
    const s = await startServer(script, 't', ['echo', '--tcp', '0', '--udp', '0']);
    const pid = s.child.pid!;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    try {
      assert.equal(await runner.alive(pid, start), true);
      assert.equal(await runner.alive(pid, start + 1), false, 'another start time is another process');
      const open = await runner.openPorts(pid, ['TCP', 'UDP']);
      for (const l of s.listening)
        assert.ok(
          open.some((o) => o.protocol === l.protocol && o.port === l.port),
          JSON.stringify(l),
        );
      assert.equal(await runner.signal(pid, start + 1, 'SIGTERM'), false, 'a stranger is never signalled');
      assert.equal(await runner.signal(pid, start, 'SIGTERM'), true);
      const [code] = await once(s.child, 'exit');
      assert.equal(code, 0);
      assert.equal(await runner.alive(pid, start), false);
    } finally {
      await stop(s.child);
    }
  });
});
