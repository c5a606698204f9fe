/**
 * The udp backend's engine in plain TypeScript ('udp-ts'): the same packet semantics as the native
 * engine (packet-core.ts) over Node's own I/O, one packet per read call and per send. It is the
 * reference the native engine is checked against and a debugging aid, as flannel calls its udp
 * backend; it is not meant to be fast.
 *
 * Reading the TUN without a native poll: openTun hands out a non-blocking fd, and Node offers no
 * way to wait for readability of a character device (net.Socket and dgram refuse such fds). A
 * blocking fd is worse: an fs.read in flight sits in a libuv threadpool thread that close(2) does
 * not wake (the read holds its own reference to the file), so the request keeps the process alive
 * and the device in existence after close, and even process.exit() then hangs, as Node joins the
 * pool's threads on the way out (tried on Node 20 with a FIFO: the process had to be killed). So
 * reads never block: one fs.read at a time, and after it returns a packet whatever else is queued
 * is drained with readSync (up to DRAIN_LIMIT); after a packet the next read follows at once,
 * after EAGAIN it is retried with a short backoff (setImmediate a few times, then 1, 2, 4 ms). A
 * datagram arriving resets the backoff, since an answer from a local pod usually follows. close()
 * stops scheduling, waits for the read in flight (which cannot block) and only then closes the fd.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import { KdpError, describeError } from '../../../errors.ts';
import { openTun } from './native-binding.ts';
import {
  DROP_REASONS,
  type DropReason,
  type EngineCounters,
  type EngineOptions,
  type OverlayEngine,
} from './engine.ts';
import { localNode, processFromTun, processFromUdp, type PacketResult } from './packet-core.ts';
import { RouteTable } from './route-table.ts';

/** Retries after EAGAIN: this many at setImmediate speed, then timers doubling up to MAX_IDLE_MS. */
const IMMEDIATE_RETRIES = 4;
const MAX_IDLE_MS = 4;
/** Packets read synchronously after one asynchronous read, before yielding to the event loop. */
const DRAIN_LIMIT = 64;
/** Large enough for any packet the kernel may queue on a TUN (its MTU can be raised to 64 KiB). */
const READ_BUFFER_SIZE = 65536;

/** The batch-size histogram's bucket (EngineCounters.batchSizes): the power of two at or above n. */
function batchBucket(n: number): string {
  return n > 64 ? 'more' : String(2 ** Math.ceil(Math.log2(n)));
}

function emptyCounters(): EngineCounters {
  const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  return {
    tunRxPackets: 0,
    tunRxBytes: 0,
    tunTxPackets: 0,
    tunTxBytes: 0,
    udpRxPackets: 0,
    udpRxBytes: 0,
    udpTxPackets: 0,
    udpTxBytes: 0,
    icmpSent: 0,
    drops,
    batchSizes: {},
  };
}

function bindSocket(socket: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

export async function createTypeScriptEngine(options: EngineOptions): Promise<OverlayEngine> {
  const local = localNode(options.localSubnet);
  const fd = openTun(options.tunName, { vnetHdr: false });
  const socket = dgram.createSocket({ type: 'udp4' });
  try {
    await bindSocket(socket, options.localIp, options.port);
  } catch (e) {
    socket.close();
    fs.closeSync(fd);
    throw new KdpError(
      'KDP_ERR_OVERLAY_ENGINE',
      `udp-ts engine: cannot bind UDP ${options.localIp}:${options.port}: ${describeError(e)}`,
      { cause: e },
    );
  }

  const counters = emptyCounters();
  let table = RouteTable.empty;
  let closed = false;
  let idle = 0;
  /** The next read when none is in flight: soon (after EAGAIN) or later (after several). */
  let soon: NodeJS.Immediate | undefined;
  let later: NodeJS.Timeout | undefined;
  let readInFlight: Promise<void> | undefined;
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);

  const writeTun = (data: Buffer) => {
    // Synchronous on purpose: a TUN write never blocks (the kernel takes or drops the packet at
    // once), and one write at a time on this thread keeps packets in order, which concurrent
    // fs.write calls spread over the threadpool would not.
    try {
      fs.writeSync(fd, data);
      counters.tunTxPackets++;
      counters.tunTxBytes += data.length;
      return true;
    } catch {
      counters.drops['io-error']++;
      return false;
    }
  };

  const handle = (result: PacketResult) => {
    if (result.kind === 'tun') {
      writeTun(result.data);
    } else if (result.kind === 'udp') {
      const size = result.data.length;
      socket.send(result.data, options.port, result.dst, (err) => {
        if (err) {
          counters.drops['io-error']++;
        } else {
          counters.udpTxPackets++;
          counters.udpTxBytes += size;
          counters.batchSizes['1'] = (counters.batchSizes['1'] ?? 0) + 1;
        }
      });
    } else {
      counters.drops[result.reason]++;
      if (result.reply && writeTun(result.reply)) counters.icmpSent++;
    }
  };

  const schedule = () => {
    if (closed) return;
    if (idle <= IMMEDIATE_RETRIES) soon = setImmediate(readOnce);
    else later = setTimeout(readOnce, Math.min(2 ** (idle - IMMEDIATE_RETRIES - 1), MAX_IDLE_MS));
  };

  const fromTun = (n: number) => {
    counters.tunRxPackets++;
    counters.tunRxBytes += n;
    // processFromTun copies what it forwards, so the read buffer is free for the next read.
    handle(processFromTun(readBuffer.subarray(0, n), table, local));
  };

  function readOnce() {
    soon = later = undefined;
    if (closed) return;
    readInFlight = new Promise((resolve) => {
      fs.read(fd, readBuffer, 0, READ_BUFFER_SIZE, null, (err, n) => {
        readInFlight = undefined;
        resolve();
        if (closed) return;
        if (err) {
          // EAGAIN: nothing queued. Anything else is counted; the loop goes on either way.
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') counters.drops['io-error']++;
          idle++;
        } else {
          idle = 0;
          fromTun(n);
          // Whatever else is queued is read at once, without a threadpool round trip per packet:
          // the fd is non-blocking, so readSync returns EAGAIN when the queue is empty.
          let batch = 1;
          for (; batch < DRAIN_LIMIT && !closed; batch++) {
            let more: number;
            try {
              more = fs.readSync(fd, readBuffer, 0, READ_BUFFER_SIZE, null);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') counters.drops['io-error']++;
              break;
            }
            fromTun(more);
          }
          const bucket = batchBucket(batch);
          counters.batchSizes[bucket] = (counters.batchSizes[bucket] ?? 0) + 1;
        }
        schedule();
      });
    });
  }

  socket.on('message', (msg, rinfo) => {
    counters.udpRxPackets++;
    counters.udpRxBytes += msg.length;
    handle(processFromUdp(rinfo.address, msg, table, local));
    // An answer from a local pod usually follows: poll the TUN soon again.
    idle = 0;
    if (later !== undefined) {
      clearTimeout(later);
      later = undefined;
      schedule();
    }
  });
  // A send error is reported to its callback; anything else on the socket is counted, not fatal.
  socket.on('error', () => counters.drops['io-error']++);

  readOnce();

  let closing: Promise<void> | undefined;
  return {
    kind: 'typescript',
    setRoutes(routes) {
      table = RouteTable.from(routes);
    },
    counters() {
      return structuredClone(counters);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        clearImmediate(soon);
        clearTimeout(later);
        await readInFlight;
        await new Promise<void>((resolve) => socket.close(() => resolve()));
        // The device goes away with its last fd.
        fs.closeSync(fd);
      })();
      return closing;
    },
  };
}
