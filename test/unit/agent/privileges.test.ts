// The launch plan of a container: who it runs as and with which capabilities (privileges.ts),
// and the command line that isolates it (isolation.ts), from the Pod's and the container's
// securityContext, without root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPABILITIES } from '../../../dataplane/api/capabilities.ts';
import type { Container, Pod, PodSecurityContext, SecurityContext } from '../../../dataplane/api/types.ts';
import { AgentState } from '../../../dataplane/agent/state.ts';
import { KdpError } from '../../../dataplane/errors.ts';
import { INIT_SCRIPT, isolatedArgv, outermost } from '../../../dataplane/agent/workloads/isolation.ts';
import {
  capabilitiesInMask,
  privilegesFor,
  RUNTIME_DEFAULT_CAPABILITIES,
  SECURITY_CONTEXT_ERROR,
  setprivArgs,
} from '../../../dataplane/agent/workloads/privileges.ts';

function podWith(sc?: SecurityContext, podSc?: PodSecurityContext): [Pod, Container] {
  const c: Container = { name: 'main', image: 'busybox', command: ['sleep', '1'], securityContext: sc };
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: 'u-1' },
    spec: { containers: [c], securityContext: podSc },
  };
  return [pod, c];
}
const privileges = (sc?: SecurityContext, podSc?: PodSecurityContext) => privilegesFor(...podWith(sc, podSc));

test('by default a container is nobody with no capability and no_new_privs', () => {
  const p = privileges();
  assert.deepEqual(p, {
    uid: 65534,
    gid: 65534,
    groups: [],
    capabilities: [],
    noNewPrivs: true,
    privileged: false,
    readOnlyRootFilesystem: false,
  });
  assert.deepEqual(setprivArgs(p), [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--ambient-caps=-all',
    '--no-new-privs',
  ]);
});

test("the container's fields win over the pod's; groups from supplementalGroups and fsGroup", () => {
  const p = privileges(
    { runAsUser: 1000 },
    { runAsUser: 2000, runAsGroup: 3000, supplementalGroups: [10, 11], fsGroup: 12 },
  );
  assert.deepEqual([p.uid, p.gid, p.groups, p.fsGroup], [1000, 3000, [10, 11, 12], 12]);
  assert.ok(setprivArgs(p).includes('--groups=10,11,12'));
  assert.equal(privileges({ runAsGroup: 5 }, { runAsGroup: 6 }).gid, 5);
});

test('root gets the runtime default set in the bounding set, nothing inheritable or ambient', () => {
  const p = privileges({ runAsUser: 0 });
  assert.deepEqual([p.uid, p.gid], [0, 0]);
  assert.deepEqual(new Set(p.capabilities), new Set(RUNTIME_DEFAULT_CAPABILITIES));
  const args = setprivArgs(p);
  assert.ok(args.includes('--inh-caps=-all'));
  assert.ok(args.some((a) => a.startsWith('--bounding-set=-all,+chown,+dac_override,')));
  assert.ok(!args.some((a) => a.startsWith('--ambient-caps')));
  assert.deepEqual(privileges({ runAsUser: 0, capabilities: { drop: ['ALL'] } }).capabilities, []);
  assert.deepEqual(
    privileges({ runAsUser: 0, capabilities: { drop: ['ALL'], add: ['CAP_NET_ADMIN'] } }).capabilities,
    ['NET_ADMIN'],
  );
  assert.ok(
    !privileges({ runAsUser: 0, capabilities: { drop: ['CAP_CHOWN'] } }).capabilities.includes('CHOWN'),
  );
});

test('a non-root user gets added capabilities as ambient ones, in every set', () => {
  const p = privileges({ capabilities: { add: ['NET_BIND_SERVICE', 'CAP_NET_RAW'] } });
  assert.deepEqual(p.capabilities, ['NET_BIND_SERVICE', 'NET_RAW']);
  const args = setprivArgs(p);
  for (const flag of ['--inh-caps', '--bounding-set', '--ambient-caps'])
    assert.ok(args.includes(`${flag}=-all,+net_bind_service,+net_raw`), `${flag} in ${args.join(' ')}`);
  assert.deepEqual(
    privileges({ capabilities: { add: ['ALL'], drop: ['SYS_ADMIN'] } }).capabilities.length,
    CAPABILITIES.length - 1,
  );
});

test('capabilities the agent lacks are not asked of setpriv', () => {
  const p = privileges({ capabilities: { add: ['NET_ADMIN', 'SYS_RESOURCE'] } });
  const held = capabilitiesInMask('000001fffeffffff'); // every one but SYS_RESOURCE (bit 24)
  assert.equal(held.has('SYS_RESOURCE'), false);
  assert.equal(held.has('CHECKPOINT_RESTORE'), true);
  assert.ok(setprivArgs(p, held).includes('--ambient-caps=-all,+net_admin'));
});

test('privileged is root with every capability and may gain privileges', () => {
  const p = privileges({ privileged: true });
  assert.deepEqual([p.uid, p.noNewPrivs, p.capabilities.length], [0, false, CAPABILITIES.length]);
  // Root keeps the agent's own sets: no capability option at all.
  assert.deepEqual(setprivArgs(p), ['--reuid=0', '--regid=0', '--clear-groups']);
  const asUser = setprivArgs(privileges({ privileged: true, runAsUser: 7 }));
  assert.ok(asUser.some((a) => a.startsWith('--ambient-caps=-all,+chown,')));
  assert.equal(privileges({ allowPrivilegeEscalation: true }).noNewPrivs, false);
});

test('runAsNonRoot refuses uid 0 with the kubelet reason, and accepts the default user', () => {
  assert.throws(
    () => privileges({ runAsUser: 0 }, { runAsNonRoot: true }),
    (e: unknown) =>
      e instanceof KdpError &&
      e.code === SECURITY_CONTEXT_ERROR &&
      e.message === `container's runAsUser breaks non-root policy (pod: "p_ns(u-1)", container: main)`,
  );
  assert.throws(() => privileges({ runAsNonRoot: true }, { runAsUser: 0 }), /breaks non-root policy/);
  assert.throws(() => privileges({ runAsNonRoot: true, privileged: true }), /breaks non-root policy/);
  assert.equal(privileges({ runAsNonRoot: true }).uid, 65534);
  assert.throws(() => privileges({ capabilities: { add: ['FLY'] } }), /unknown capability "FLY"/);
});

test('the isolated command line: unshare, the set-up with its arguments, setpriv, init, workload', () => {
  const p = privileges({ readOnlyRootFilesystem: true, capabilities: { add: ['NET_ADMIN'] } });
  const argv = isolatedArgv(
    {
      privileges: p,
      containerDir: '/run/kdp/c/pods/u-1/main',
      workloadsDir: '/run/kdp/c/nodes/n/workloads',
      hidden: ['/run/kdp', '/run/netns', '/run/kdp/c'],
    },
    ['iperf3', '-s'],
  );
  assert.deepEqual(argv.slice(0, 8), [
    'unshare',
    '--mount',
    '--pid',
    '--fork',
    '--kill-child',
    '--mount-proc',
    '--',
    '/bin/sh',
  ]);
  assert.equal(argv[8], '-c');
  assert.ok(!/^\s*#/m.test(argv[9]), 'the set-up script goes without its comment lines');
  const setup = argv.slice(10, argv.indexOf('setpriv'));
  assert.deepEqual(setup, [
    'kdp-container-setup',
    'isolated',
    '/run/kdp/c/pods/u-1/main',
    'ro',
    '/run/kdp/c/nodes/n/workloads',
    '',
    '2',
    '/run/kdp',
    '/run/netns',
    '--',
  ]);
  const rest = argv.slice(argv.indexOf('setpriv') + 1);
  assert.deepEqual(rest.slice(0, rest.indexOf('--')), setprivArgs(p));
  assert.deepEqual(rest.slice(rest.indexOf('--')), [
    '--',
    '/bin/sh',
    '-c',
    INIT_SCRIPT,
    'kdp-init',
    'iperf3',
    '-s',
  ]);

  const priv = isolatedArgv(
    { privileges: privileges({ privileged: true }), containerDir: '/d', hidden: [] },
    ['true'],
  );
  assert.deepEqual(priv.slice(10, 17), ['kdp-container-setup', 'privileged', '/d', 'rw', '', '', '0']);
  const resolv = isolatedArgv(
    { privileges: privileges(), containerDir: '/d', resolvConf: '/s/resolv.conf', hidden: [] },
    ['true'],
  );
  assert.deepEqual(resolv.slice(10, 17), [
    'kdp-container-setup',
    'isolated',
    '/d',
    'rw',
    '',
    '/s/resolv.conf',
    '0',
  ]);
});

test('covered paths: the outermost of nested ones, each once', () => {
  assert.deepEqual(outermost(['/run/kdp/x', '/run/kdp', '/run/netns', '/run/kdp/', '/tmp/a/../b']), [
    '/run/kdp',
    '/run/netns',
    '/tmp/b',
  ]);
});

test("containers' directories: next to the nodes' in a cluster dir, else inside the state dir", () => {
  const inCluster = new AgentState('/run/kdp/c1/nodes/node-1');
  assert.equal(inCluster.clusterDir, '/run/kdp/c1');
  assert.equal(inCluster.containerDir('u-1', 'main'), '/run/kdp/c1/pods/u-1/main');
  const alone = new AgentState('/var/lib/kdp-agent');
  assert.equal(alone.clusterDir, '/var/lib/kdp-agent');
  assert.equal(alone.containerDir('u-1', 'main'), '/var/lib/kdp-agent/containers/u-1/main');
});
