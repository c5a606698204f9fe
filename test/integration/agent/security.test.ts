// What a container may do to the host (as root, real agent, real namespaces). A probe container
// reports from inside, on its stdout (the log file in the agent's state dir), what it is and what
// it could do; the test also looks from the host. By default: uid and gid 65534, no capability in
// any set, no_new_privs, its own pid namespace (a handful of processes), the host's files
// read-only (/etc, /root, /var/tmp), /etc/shadow unreadable, kdp's state and the apiserver's
// socket invisible, its own directory and a private /tmp writable (neither with
// readOnlyRootFilesystem). runAsUser with an added capability gets exactly that capability;
// privileged is root with every capability; runAsNonRoot with runAsUser 0 never starts and says why; SIGTERM reaches a workload that has no handler of
// its own, so a delete does not wait for the grace period; no container keeps another pod's
// network namespace alive.
// Run as root: node --import tsx --test test/integration/agent/security.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, Pod, PodSecurityContext } from '../../../dataplane/api/types.ts';
import { withAgentCluster } from './agent-cluster.ts';
import { procStatus, workloadOf } from './container-procs.ts';
import { until } from '../../helpers/until.ts';

// Each check prints `name=yes|no`; the last line says the probe is done.
const PROBE = [
  'echo uid=$(id -u) gid=$(id -g)',
  'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status | tr -d "\\t" | tr ":" "="',
  'can() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }',
  'echo write_etc=$(can touch /etc/kdp-probe-$$)',
  'echo write_root=$(can touch /root/kdp-probe-$$)',
  'echo write_var_tmp=$(can touch /var/tmp/kdp-probe-$$)',
  'echo read_shadow=$(can cat /etc/shadow)',
  'echo write_home=$(can touch "$HOME/written")',
  'echo write_tmp=$(can touch /tmp/kdp-probe-$KDP_POD_NAME)',
  'echo run_kdp_entries=$(ls -A /run/kdp 2>/dev/null | wc -l)',
  'echo see_state=$(can test -e "$KDP_STATE_DIR/pods")',
  'echo see_netns=$(can test -e /run/netns/$KDP_NETNS_PROBE)',
  'echo see_api_socket=$(can test -e "$KDP_API_SOCKET")',
  'echo write_dev_null=$(can sh -c "echo x > /dev/null")',
  'echo processes=$(ls /proc | grep -c "^[0-9]")',
  'echo done',
  'exec sleep 1000',
].join('\n');

function probePod(
  name: string,
  node: string,
  sc: Container['securityContext'],
  podSc?: PodSecurityContext,
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: node,
      // Deletes finish early only if SIGTERM reaches the workload (see the end of the test).
      terminationGracePeriodSeconds: 600,
      ...(podSc ? { securityContext: podSc } : {}),
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', PROBE], securityContext: sc }],
    },
  };
}

function parse(log: string): Record<string, string> {
  return Object.fromEntries(
    log
      .split('\n')
      .flatMap((l) => l.split(' '))
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

test('containers run unprivileged and isolated unless their securityContext asks', async (t) => {
  await withAgentCluster(t, 1, async (c) => {
    const pods = c.client.resource<Pod>('pods');
    const node = c.nodes[0].name;
    c.startAgent(1);
    const apiSocket = join(c.stateDir(1), '..', '..', 'api.sock');
    assert.ok(existsSync(apiSocket), 'the test cluster has an apiserver socket to hide');
    const withEnv = (p: Pod): Pod => {
      p.spec.containers[0].env = [
        { name: 'KDP_API_SOCKET', value: apiSocket },
        { name: 'KDP_STATE_DIR', value: c.stateDir(1) },
        { name: 'KDP_NETNS_PROBE', value: c.podNs(p.metadata.name!) },
      ];
      return p;
    };
    const created = await Promise.all([
      pods.create(withEnv(probePod('plain', node, undefined))),
      pods.create(
        withEnv(probePod('user-cap', node, { runAsUser: 1000, capabilities: { add: ['NET_BIND_SERVICE'] } })),
      ),
      pods.create(withEnv(probePod('privileged', node, { privileged: true }))),
      pods.create(withEnv(probePod('nonroot', node, { runAsUser: 0 }, { runAsNonRoot: true }))),
      pods.create(withEnv(probePod('readonly', node, { readOnlyRootFilesystem: true }))),
    ]);
    const uid = (name: string) => created.find((p) => p.metadata.name === name)!.metadata.uid!;
    const report = (name: string) =>
      until(
        `${name}'s report`,
        async () => {
          const log = await readFile(join(c.stateDir(1), 'pods', uid(name), 'main.log'), 'utf8');
          return log.includes('done') && parse(log);
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );

    const plain = await report('plain');
    t.diagnostic(`default container: ${JSON.stringify(plain)}`);
    assert.equal(plain.uid, '65534');
    assert.equal(plain.gid, '65534');
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
      assert.equal(plain[set], '0000000000000000', set);
    assert.equal(plain.NoNewPrivs, '1');
    assert.equal(plain.write_etc, 'no');
    assert.equal(plain.write_root, 'no');
    assert.equal(plain.write_var_tmp, 'no');
    assert.equal(plain.read_shadow, 'no');
    // Other clusters' state (/run/kdp/<cluster>) is covered; so is this test cluster's (in /tmp).
    assert.equal(plain.run_kdp_entries, '0');
    assert.equal(plain.see_state, 'no');
    assert.equal(plain.see_netns, 'no');
    assert.equal(plain.see_api_socket, 'no');
    assert.equal(plain.write_home, 'yes');
    assert.equal(plain.write_tmp, 'yes');
    assert.equal(plain.write_dev_null, 'yes');
    assert.ok(Number(plain.processes) < 10, `the container sees ${plain.processes} processes`);
    // From the host: its directory holds what it wrote, owned by it; the host's /tmp does not.
    const home = join(c.stateDir(1), '..', '..', 'pods', uid('plain'), 'main');
    assert.equal((await stat(join(home, 'written'))).uid, 65534);
    assert.equal(existsSync('/tmp/kdp-probe-plain'), false);

    const userCap = await report('user-cap');
    assert.equal(userCap.uid, '1000');
    assert.equal(userCap.gid, '65534');
    for (const set of ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
      assert.equal(userCap[set], '0000000000000400', set);
    assert.equal(userCap.write_etc, 'no');

    const readonly = await report('readonly');
    assert.deepEqual([readonly.uid, readonly.write_home, readonly.write_tmp], ['65534', 'no', 'no']);

    const privileged = await report('privileged');
    const own = await procStatus(process.pid);
    assert.equal(privileged.uid, '0');
    assert.equal(privileged.CapEff, own.CapBnd, 'every capability the agent has');
    assert.equal(privileged.NoNewPrivs, '0');
    assert.equal(privileged.read_shadow, 'yes');

    const refused = await until(
      'nonroot refused',
      async () => {
        const p = await pods.get('nonroot', 'default');
        const s = (
          p.status?.containerStatuses as { state?: { waiting?: { reason: string; message?: string } } }[]
        )?.[0];
        return s?.state?.waiting?.reason === 'CreateContainerConfigError' && s.state.waiting;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    assert.match(refused.message ?? '', /runAsUser breaks non-root policy .*container: main/);
    assert.equal(existsSync(join(c.stateDir(1), 'pods', uid('nonroot'), 'main.log')), false, 'it never ran');

    // The probe ends in `sleep`: the delete is done long before the 600 s grace period only if
    // the group's SIGTERM reached it (a namespace's pid 1 ignores signals it has no handler for).
    await pods.delete('plain', { namespace: 'default' });
    await until('plain deleted', async () => (await pods.tryGet('plain', 'default')) === undefined, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    assert.equal(existsSync(home), false, 'the container directory goes with the pod');
    // Mount namespaces made while other pods' namespace files existed hold none of them: a copy
    // would keep a deleted pod's network namespace (and veth) alive as long as the container runs.
    const userCapPid = Number(
      (await readFile(join(c.stateDir(1), 'pods', uid('user-cap'), 'main.pid'), 'utf8')).trim(),
    );
    const userCapWorkload = await until('user-cap workload', () => workloadOf(userCapPid), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    const mounts = await readFile(`/proc/${userCapWorkload}/mountinfo`, 'utf8');
    assert.ok(mounts.includes(' - tmpfs kdp-tmp '), 'this is the container mount namespace');
    assert.deepEqual(
      mounts.split('\n').filter((l) => l.includes(' - nsfs ')),
      [],
    );
    for (const name of ['user-cap', 'privileged', 'nonroot', 'readonly'])
      await pods.delete(name, { namespace: 'default' });
    await until('all deleted', async () => (await pods.list({ namespace: 'default' })).items.length === 0, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
  });
});
