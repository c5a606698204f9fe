/**
 * One node agent per node, supervised: started inside the node's namespace, restarted with a
 * growing delay when it dies (a restarted agent resyncs with what exists and leaves running pods
 * alone), stopped with SIGTERM (then SIGKILL) on close. How one agent process is spawned is an
 * AgentSpawner, so tests can supervise stand-ins; processAgentSpawner is the real one, per the
 * contract in the issue-3 brief: `nsenter --net=/run/netns/<node netns> -- node --import tsx
 * dataplane/agent/main.ts --cluster C --node N --socket S [--token-file T] --state-dir D --overlay O
 * [--overlay-engine E] --proxy-mode M --cluster-cidr P`, output to a log file. The token goes by
 * file path, never in argv or the environment, where other users could read it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../errors.ts';
import { netnsPath } from '../kernel/name-checks.ts';

export const AGENT_MISSING = 'KDP_ERR_AGENT_MISSING';

export interface AgentSpec {
  cluster: string;
  /** The Node object's name. */
  node: string;
  netns: string;
  socketPath: string;
  /** The file (0600) with the bearer token the agent presents on the socket. */
  tokenFile?: string;
  stateDir: string;
  logPath: string;
  pidPath: string;
  /** Overlay backend by name (the topology's). */
  overlay: string;
  /** The backend's engine (the topology's overlayEngine), passed as --overlay-engine when set. */
  overlayEngine?: string;
  /** Service proxy mode (the topology's proxyMode). */
  proxyMode: string;
  /** The mode's own flags (the topology's proxyModeFlags), passed as `--<flag> <value>`. */
  proxyModeFlags?: Readonly<Record<string, string>>;
  /** The pod network (the topology's podCidr): the proxy masquerades ClusterIP traffic from outside it. */
  clusterCidr: string;
  /** The kube-dns address written into pods' resolv.conf; none without cluster DNS. */
  clusterDns?: string;
  /** Tests: more agent arguments, after the usual ones (e.g. `--iptables-backend legacy`). */
  extraArgs?: readonly string[];
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One running agent process. */
export interface AgentProcess {
  readonly pid: number | undefined;
  readonly exited: Promise<AgentExit>;
  kill(signal: NodeJS.Signals): void;
}

export type AgentSpawner = (spec: AgentSpec) => AgentProcess;

export type AgentState = 'running' | 'restarting' | 'stopped';

export interface AgentStatus {
  node: string;
  state: AgentState;
  pid?: number;
  restarts: number;
  lastExit?: AgentExit & { at: string };
}

export interface SupervisorTuning {
  /** First restart delay, doubled after each quick death up to maxDelayMs. Default 200 ms. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** An agent that ran this long is healthy: its next death restarts after initialDelayMs. */
  healthyAfterMs?: number;
  /** How long SIGTERM may take before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_MAIN = fileURLToPath(new URL('../agent/main.ts', import.meta.url));

/** The argv that runs an agent in its node's namespace. */
export function agentCommand(spec: AgentSpec): string[] {
  return [
    'nsenter',
    `--net=${netnsPath(spec.netns)}`,
    '--',
    process.execPath,
    '--import',
    import.meta.resolve('tsx'),
    AGENT_MAIN,
    // The agent exits (leaving the data plane forwarding) when this process dies: agent/supervisor-watch.ts.
    '--supervisor-pid',
    String(process.pid),
    '--cluster',
    spec.cluster,
    '--node',
    spec.node,
    '--socket',
    spec.socketPath,
    ...(spec.tokenFile ? ['--token-file', spec.tokenFile] : []),
    '--state-dir',
    spec.stateDir,
    '--overlay',
    spec.overlay,
    ...(spec.overlayEngine ? ['--overlay-engine', spec.overlayEngine] : []),
    '--proxy-mode',
    spec.proxyMode,
    ...Object.entries(spec.proxyModeFlags ?? {}).flatMap(([flag, value]) => [`--${flag}`, value]),
    '--cluster-cidr',
    spec.clusterCidr,
    ...(spec.clusterDns ? ['--cluster-dns', spec.clusterDns] : []),
  ];
}

export const processAgentSpawner: AgentSpawner = (spec) => {
  if (!existsSync(AGENT_MAIN)) {
    throw new KdpError(AGENT_MISSING, `the node agent ${AGENT_MAIN} does not exist in this checkout`);
  }
  const log = openSync(spec.logPath, 'a', 0o600);
  try {
    const [cmd, ...args] = [...agentCommand(spec), ...(spec.extraArgs ?? [])];
    // Its own session: a Ctrl-C at the terminal of a scenario reaches the scenario, which stops
    // its agents in order, instead of killing every agent at once behind its back.
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', log, log], detached: true });
    const exited = new Promise<AgentExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: 127, signal: null }));
    });
    if (child.pid !== undefined) writeFileSync(spec.pidPath, `${child.pid}\n`, { mode: 0o600 });
    return { pid: child.pid, exited, kill: (signal) => child.kill(signal) };
  } finally {
    closeSync(log);
  }
};

/** Supervises one agent until stop(). */
export class SupervisedAgent {
  private current?: AgentProcess;
  private status: AgentStatus;
  private stopping?: Promise<void>;
  private delayMs: number;
  private retryTimer?: NodeJS.Timeout;
  private readonly tuning: Required<SupervisorTuning>;

  constructor(
    readonly spec: AgentSpec,
    private readonly spawner: AgentSpawner,
    private readonly onChange: (status: AgentStatus, message?: string) => void,
    tuning: SupervisorTuning = {},
  ) {
    this.tuning = {
      initialDelayMs: tuning.initialDelayMs ?? 200,
      maxDelayMs: tuning.maxDelayMs ?? 5000,
      healthyAfterMs: tuning.healthyAfterMs ?? 10_000,
      stopTimeoutMs: tuning.stopTimeoutMs ?? 5000,
    };
    this.delayMs = this.tuning.initialDelayMs;
    this.status = { node: spec.node, state: 'stopped', restarts: 0 };
  }

  get snapshot(): AgentStatus {
    return { ...this.status };
  }

  /** Starts the first process; throws when it cannot be spawned at all (missing agent). */
  start(): void {
    this.launch();
  }

  private launch(): void {
    const proc = this.spawner(this.spec);
    this.current = proc;
    const startedAt = Date.now();
    this.status = { ...this.status, state: 'running', pid: proc.pid };
    this.onChange(this.snapshot);
    void proc.exited.then((exit) => {
      if (this.current !== proc) return;
      this.current = undefined;
      const at = new Date().toISOString();
      if (this.stopping) {
        this.status = { ...this.status, state: 'stopped', pid: undefined, lastExit: { ...exit, at } };
        this.onChange(this.snapshot);
        return;
      }
      // A first or occasional death restarts soon; one death after another waits longer each time.
      if (Date.now() - startedAt >= this.tuning.healthyAfterMs) this.delayMs = this.tuning.initialDelayMs;
      const delay = this.delayMs;
      this.delayMs = Math.min(delay * 2, this.tuning.maxDelayMs);
      this.status = { ...this.status, state: 'restarting', pid: undefined, lastExit: { ...exit, at } };
      const how = exit.signal ? `killed by ${exit.signal}` : `exited with status ${exit.code}`;
      this.onChange(this.snapshot, `agent of node ${this.spec.node} ${how}; restarting in ${delay} ms`);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (this.stopping) return;
        this.status.restarts++;
        try {
          this.launch();
        } catch (e) {
          this.onChange(
            this.snapshot,
            `agent of node ${this.spec.node} could not be restarted: ${String(e)}`,
          );
        }
      }, delay);
    });
  }

  /** SIGTERM, SIGKILL after stopTimeoutMs; no restart afterwards. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.retryTimer);
      const proc = this.current;
      if (proc) {
        proc.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            proc.kill('SIGKILL');
            resolve();
          }, this.tuning.stopTimeoutMs);
        });
        await Promise.race([proc.exited, killed]);
        clearTimeout(timer);
        await proc.exited;
      }
      this.status = { ...this.status, state: 'stopped', pid: undefined };
      rmSync(this.spec.pidPath, { force: true });
    })();
    return this.stopping;
  }
}
