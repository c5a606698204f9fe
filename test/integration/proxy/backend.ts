/**
 * The backend the proxy integration tests run in their pods (as a host program: the pod's
 * container command): it answers every HTTP request and every UDP datagram with
 * `<pod name> <source address it saw>`, so a test learns both which backend a connection reached
 * and whether it was masqueraded on the way. On SIGTERM it keeps serving for --drain-ms (a
 * well-behaved server draining during its grace period, as a preStop sleep would), then exits.
 *
 *   node --import tsx backend.ts [--http PORT]... [--udp PORT]... [--drain-ms N]
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    http: { type: 'string', multiple: true, default: [] },
    udp: { type: 'string', multiple: true, default: [] },
    'drain-ms': { type: 'string', default: '0' },
  },
});
const name = process.env.KDP_POD_NAME ?? 'unknown';
const closers: (() => void)[] = [];

for (const port of values.http!.map(Number)) {
  const server = createServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(`${name} ${req.socket.remoteAddress}\n`);
  });
  server.listen(port, '0.0.0.0');
  closers.push(() => server.close());
}
for (const port of values.udp!.map(Number)) {
  const socket = createSocket('udp4');
  socket.on('message', (_msg, from) => socket.send(`${name} ${from.address}\n`, from.port, from.address));
  socket.bind(port, '0.0.0.0');
  closers.push(() => socket.close());
}

process.once('SIGTERM', () => {
  setTimeout(() => {
    for (const close of closers) close();
    process.exit(0);
  }, Number(values['drain-ms']));
});
