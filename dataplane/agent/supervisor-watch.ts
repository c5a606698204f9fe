/**
 * How an agent notices that its supervisor died (kill -9, OOM): the supervisor's pid, given as
 * --supervisor-pid, is probed every second with signal 0. Without a supervisor nobody restarts
 * the agent, answers its list/watch or stops it with `kdp down`, so it exits the way SIGTERM
 * makes it exit: proxy rules, routes and pods stay, and the kernel keeps forwarding (iptables,
 * host-gw and vxlan need no process; the udp overlay's engine lives in the agent and stops).
 * `kdp down` / `kdp cleanup` then remove what is left.
 */

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Calls `onGone` once `pid` has exited; returns a function that stops watching. */
export function watchSupervisor(
  pid: number,
  onGone: () => void,
  options: { periodMs?: number; exists?: (pid: number) => boolean } = {},
): () => void {
  const exists = options.exists ?? processExists;
  const timer = setInterval(() => {
    if (exists(pid)) return;
    clearInterval(timer);
    onGone();
  }, options.periodMs ?? 1000);
  // The watch alone must not keep an agent that is otherwise done alive.
  timer.unref();
  return () => clearInterval(timer);
}
