// Adding a proxy mode is its folder and one registration: a toy mode from this folder, registered
// at run time, is offered by topology validation, `kdp up` (its help and its flags), the agent's
// command line, `kdp doctor`, the bench's mode axis and the agent's command built by the cluster
// builder, and its options reach its proxier; another mode's flag or a bad value is refused.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { buildCatalog } from '../../../../bench/run/catalog.ts';
import { resolveSpec } from '../../../../bench/run/spec.ts';
import { agentUsage, parseAgentArgs } from '../../../../dataplane/agent/main.ts';
import { upCommand } from '../../../../dataplane/cli/commands/up.ts';
import { proxyModeChecks } from '../../../../dataplane/cli/doctor-modes.ts';
import { agentCommand } from '../../../../dataplane/cluster/builder-agents.ts';
import { resolveTopology, TOPOLOGY_INVALID } from '../../../../dataplane/cluster/topology.ts';
import { isKdpError } from '../../../../dataplane/errors.ts';
import {
  checkProxyMode,
  createProxier,
  PROXY_MODE_DUPLICATE,
  PROXY_MODE_UNAVAILABLE,
  registerProxyMode,
} from '../../../../dataplane/proxy/modes.ts';
import { TOY_NEEDS, toyMode, ToyProxier } from './mode.ts';

const unregister = registerProxyMode(toyMode);
after(unregister);

const hostWith = (files: string[]) => ({ hasFile: (f: string) => files.includes(f), hasProgram: () => true });

test('the topology accepts the toy mode and its flag, and refuses bad values', () => {
  const t = resolveTopology({ proxyMode: 'toy', proxyModeFlags: { 'toy-colour': 'blue' } });
  assert.equal(t.proxyMode, 'toy');
  assert.deepEqual(t.proxyModeFlags, { 'toy-colour': 'blue' });
  for (const [flags, message] of [
    [{ 'toy-colour': 'green' }, '--toy-colour must be red or blue, got "green"'],
    [{ 'iptables-backend': 'nft' }, '--iptables-backend is a flag of proxy mode iptables, not of toy'],
  ] as const) {
    assert.throws(
      () => resolveTopology({ proxyMode: 'toy', proxyModeFlags: flags }),
      (e) => isKdpError(e, TOPOLOGY_INVALID) && e.message.includes(message),
    );
  }
});

test('kdp up offers the mode in its help and takes its flag into the topology', () => {
  const cmd = upCommand();
  const described = (flag: string) => cmd.options.find((o) => o.long === flag)?.description;
  assert.match(described('--proxy-mode') ?? '', /; toy \(a test mode that programs nothing\)/);
  assert.equal(described('--toy-colour'), 'proxy mode toy: the colour of nothing; red, blue (default red)');
  assert.match(cmd.helpInformation(), /--toy-colour <value>/);
  cmd.parseOptions(['--proxy-mode', 'toy', '--toy-colour', 'blue']);
  assert.equal(cmd.opts().toyColour, 'blue');
});

test("the agent takes the mode and its flag, and refuses another mode's flag", () => {
  assert.match(agentUsage(), /--toy-colour V\s+\(toy\) the colour of nothing: red, blue \(default red\)/);
  const base = ['--cluster', 'c', '--node', 'n', '--socket', '/s', '--state-dir', '/d'];
  const args = parseAgentArgs([...base, '--proxy-mode', 'toy', '--toy-colour', 'blue']);
  assert.ok(args !== 'help');
  assert.equal(args.proxyMode, 'toy');
  assert.deepEqual(args.proxyModeFlags, { 'toy-colour': 'blue' });
  assert.throws(
    () => parseAgentArgs([...base, '--proxy-mode', 'iptables', '--toy-colour', 'blue']),
    /--toy-colour is a flag of proxy mode toy, not of iptables/,
  );
});

test("the builder passes the mode's flags to each agent", () => {
  const argv = agentCommand({
    cluster: 'c',
    node: 'node-1',
    netns: 'kdp-c-node-1',
    socketPath: '/run/kdp/c/apiserver.sock',
    stateDir: '/run/kdp/c/nodes/node-1',
    logPath: '/run/kdp/c/nodes/node-1/agent.log',
    pidPath: '/run/kdp/c/nodes/node-1/agent.pid',
    overlay: 'host-gw',
    proxyMode: 'toy',
    proxyModeFlags: { 'toy-colour': 'blue' },
    clusterCidr: '10.244.0.0/16',
  });
  const at = argv.indexOf('--proxy-mode');
  assert.deepEqual(argv.slice(at, at + 4), ['--proxy-mode', 'toy', '--toy-colour', 'blue']);
});

test('doctor and the availability check say what the host lacks for it', () => {
  const line = proxyModeChecks(hostWith([])).find((c) => c.name === 'proxy mode toy');
  assert.deepEqual(line && { ok: line.ok, detail: line.detail }, {
    ok: false,
    detail: `toy mode needs ${TOY_NEEDS}`,
  });
  assert.equal(proxyModeChecks(hostWith([TOY_NEEDS])).find((c) => c.name === 'proxy mode toy')?.ok, true);
  assert.throws(
    () => checkProxyMode('toy', { host: hostWith([]) }),
    (e) => isKdpError(e, PROXY_MODE_UNAVAILABLE),
  );
});

test('its options reach its proxier', () => {
  const p = createProxier(
    'toy',
    { nodeName: 'node-1', netns: 'kdp-c-node-1' },
    { flags: { 'toy-colour': 'blue' }, host: hostWith([TOY_NEEDS]) },
  );
  assert.ok(p instanceof ToyProxier);
  assert.deepEqual(p.options, { colour: 'blue' });
  assert.equal(p.mode, 'toy');
});

test("the bench's mode axis has it (the default comparison runs every mode but none)", () => {
  const catalog = buildCatalog([]);
  assert.ok(catalog.modes.includes('toy'));
  assert.ok(resolveSpec({ suite: 'default' }, catalog).modes.includes('toy'));
});

test('a second mode of the same name, or a flag another mode has, is refused', () => {
  assert.throws(
    () => registerProxyMode(toyMode),
    (e) => isKdpError(e, PROXY_MODE_DUPLICATE),
  );
  assert.throws(
    () => registerProxyMode({ ...toyMode, name: 'toy-2' }),
    /proxy mode toy-2: flag --toy-colour is taken by proxy mode toy/,
  );
});
