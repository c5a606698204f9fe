/** What a built-in workload server reports once it listens, and how it is stopped. */
export interface Listener {
  protocol: 'TCP' | 'UDP';
  port: number;
}

export interface RunningServer {
  listening: Listener[];
  close(): Promise<void>;
}
