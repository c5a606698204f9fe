// How a container's image becomes a launch: built-ins with their default ports and args, args
// replacing the defaults, command replacing the entrypoint, and a clear error for images kdp
// cannot run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGE_ERROR, imageName, launchFor } from '../../../dataplane/agent/workloads/images.ts';
import { isKdpError } from '../../../dataplane/errors.ts';

const ctx = {
  workloadScript: '/state/kdp-workload.mjs',
  nodeBinary: '/usr/bin/node',
  title: 'kdp:c:pod:default/p',
};
const server = [ctx.nodeBinary, ctx.workloadScript, ctx.title];

test('built-in servers listen on the container ports, or their defaults', () => {
  assert.deepEqual(launchFor({ name: 'c', image: 'kdp/http' }, ctx), {
    kind: 'process',
    argv: [...server, 'http', '--port', '8080'],
    readyPorts: [{ protocol: 'TCP', port: 8080 }],
    builtin: true,
  });
  assert.deepEqual(
    launchFor({ name: 'c', image: 'kdp/echo:1.0', ports: [{ containerPort: 9000, protocol: 'UDP' }] }, ctx),
    {
      kind: 'process',
      argv: [...server, 'echo', '--udp', '9000'],
      readyPorts: [{ protocol: 'UDP', port: 9000 }],
      builtin: true,
    },
  );
  const echo = launchFor({ name: 'c', image: 'kdp/echo' }, ctx);
  assert.equal(echo.kind === 'process' && echo.argv.slice(3).join(' '), 'echo --tcp 7 --udp 7');
  const iperf = launchFor({ name: 'c', image: 'kdp/iperf3', ports: [{ containerPort: 5202 }] }, ctx);
  assert.deepEqual(iperf.kind === 'process' && [iperf.argv, iperf.readyPorts], [
    ['iperf3', '-s', '-p', '5202'],
    [{ protocol: 'TCP', port: 5202 }],
  ]);
  const sockperf = launchFor(
    { name: 'c', image: 'kdp/sockperf', ports: [{ containerPort: 11111, protocol: 'TCP' }] },
    ctx,
  );
  assert.deepEqual(sockperf.kind === 'process' && sockperf.argv, [
    'sockperf',
    'server',
    '-i',
    '0.0.0.0',
    '-p',
    '11111',
    '--tcp',
  ]);
  assert.deepEqual(launchFor({ name: 'c', image: 'kdp/pause' }, ctx), { kind: 'none' });
});

test('args replace the default args; command replaces the entrypoint and makes a host program', () => {
  const http = launchFor(
    { name: 'c', image: 'kdp/http', args: ['--port', '81'], ports: [{ containerPort: 81 }] },
    ctx,
  );
  assert.deepEqual(http.kind === 'process' && [http.argv.slice(3), http.readyPorts], [
    ['http', '--port', '81'],
    [{ protocol: 'TCP', port: 81 }],
  ]);
  assert.deepEqual(launchFor({ name: 'c', image: 'busybox', command: ['sleep'], args: ['100'] }, ctx), {
    kind: 'process',
    argv: ['sleep', '100'],
    readyPorts: [],
    builtin: false,
  });
});

test('a host program with a tcpSocket readinessProbe is ready when that port listens', () => {
  const probed = (port: number | string) =>
    launchFor(
      {
        name: 'c',
        image: 'busybox',
        command: ['srv'],
        ports: [{ name: 'web', containerPort: 8081 }],
        readinessProbe: { tcpSocket: { port } },
      },
      ctx,
    );
  const ready = (l: ReturnType<typeof launchFor>) => (l.kind === 'process' ? l.readyPorts : undefined);
  assert.deepEqual(ready(probed(9000)), [{ protocol: 'TCP', port: 9000 }]);
  assert.deepEqual(ready(probed('web')), [{ protocol: 'TCP', port: 8081 }]);
  assert.throws(() => probed('nope'), { code: IMAGE_ERROR, message: /names no port/ });
});

test('an image kdp cannot run is a typed error that says what to do', () => {
  assert.throws(
    () => launchFor({ name: 'c', image: 'nginx:1.27' }, ctx),
    (e) =>
      isKdpError(e, IMAGE_ERROR) && /not one of kdp's built-ins/.test(e.message) && /command/.test(e.message),
  );
  assert.throws(
    () => launchFor({ name: 'c', image: 'kdp/pause', args: ['x'] }, ctx),
    (e) => isKdpError(e, IMAGE_ERROR),
  );
  assert.equal(imageName('registry:5000/kdp/http'), 'registry:5000/kdp/http');
  assert.equal(imageName('kdp/http:v2'), 'kdp/http');
});
