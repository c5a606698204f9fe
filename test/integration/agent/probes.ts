// Traffic between pods for agent integration tests: a short node script run inside the source
// pod's namespace (no curl or ping on this host) makes a real HTTP request, a TCP echo or a UDP
// echo to another pod's address and prints what came back.
import type { Kernel } from '../../../dataplane/kernel/interfaces.ts';

const HTTP = `
const [ip, port] = process.argv.slice(1);
fetch('http://' + ip + ':' + port + '/', { signal: AbortSignal.timeout(10000) })
  .then(async (r) => process.stdout.write(await r.text()))
  .catch((e) => { console.error(e.cause?.code ?? e.message); process.exit(1); });
`;

const TCP_ECHO = `
const [ip, port, text] = process.argv.slice(1);
const s = require('net').connect({ host: ip, port: Number(port), timeout: 10000 });
let got = '';
s.on('data', (d) => (got += d));
s.on('end', () => process.stdout.write(got));
s.on('timeout', () => { console.error('timeout'); process.exit(1); });
s.on('error', (e) => { console.error(e.code); process.exit(1); });
s.end(text);
`;

const UDP_ECHO = `
const [ip, port, text] = process.argv.slice(1);
const s = require('dgram').createSocket('udp4');
const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 10000);
s.on('message', (m) => { process.stdout.write(m.toString()); clearTimeout(timer); s.close(); });
s.send(text, Number(port), ip);
`;

async function run(kernel: Kernel, fromNs: string, script: string, args: string[]): Promise<string> {
  const { stdout } = await kernel.netns.exec(fromNs, [process.execPath, '-e', script, ...args], {
    timeoutMs: 20_000,
  });
  return stdout;
}

export const httpGet = (kernel: Kernel, fromNs: string, ip: string, port = 8080) =>
  run(kernel, fromNs, HTTP, [ip, String(port)]);

export const tcpEcho = (kernel: Kernel, fromNs: string, ip: string, port: number, text: string) =>
  run(kernel, fromNs, TCP_ECHO, [ip, String(port), text]);

export const udpEcho = (kernel: Kernel, fromNs: string, ip: string, port: number, text: string) =>
  run(kernel, fromNs, UDP_ECHO, [ip, String(port), text]);
