/**
 * One DNS message in, one out: the wire format (dns-packet) around the schema (records.ts). Every
 * query is hostile input, so nothing here throws: a message that does not parse gets FORMERR when
 * it has at least a header (its id and opcode are readable), else no answer at all; a response,
 * a message with no or several questions is FORMERR; an opcode other than QUERY is NOTIMP; a name
 * outside the cluster's zones is REFUSED at once (kdp's DNS does not forward, see README).
 * UDP answers larger than the client can take (512 bytes, or its EDNS size) are truncated (TC)
 * with no records, so the client asks again over TCP.
 */
import dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import type { ClusterIndex } from './cluster-index.ts';
import { type DnsRecord, resolve, type SchemaOptions } from './records.ts';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const OPCODE_MASK = 0x7800;
/** The largest UDP answer offered with EDNS (the DNS flag day 2020 value). */
const EDNS_UDP_SIZE = 1232;
const CLASSIC_UDP_SIZE = 512;

export interface QueryResult {
  /** The response's bytes; undefined when the message is not worth one (no header). */
  response?: Buffer;
  rcode?: number;
}

/** A bare header answer (no question echoed), for messages that do not parse. */
function headerOnly(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  query.copy(out, 0, 0, 2); // id
  const flags = query.readUInt16BE(2);
  out.writeUInt16BE(QR | (flags & (OPCODE_MASK | RD)) | rcode, 2);
  return out;
}

function toWire(r: DnsRecord): Answer {
  return { name: r.name, type: r.type, ttl: r.ttl, class: 'IN', data: r.data } as Answer;
}

/** Answers one message; `transport` decides the size limit (TCP has none below 64 KiB). */
export function answerQuery(
  query: Buffer,
  index: () => ClusterIndex,
  transport: 'udp' | 'tcp',
  opts: SchemaOptions = {},
): QueryResult {
  if (query.length < 12) return {};
  let packet: Packet;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return { response: headerOnly(query, RCODE.FORMERR), rcode: RCODE.FORMERR };
  }
  const flags = packet.flags ?? 0;
  if (packet.type === 'response') return {}; // never answer a response (no reflection loops)
  if ((flags & OPCODE_MASK) !== 0) return { response: headerOnly(query, RCODE.NOTIMP), rcode: RCODE.NOTIMP };
  const questions = packet.questions ?? [];
  if (questions.length !== 1) return { response: headerOnly(query, RCODE.FORMERR), rcode: RCODE.FORMERR };
  const q = questions[0];
  const opt = (packet.additionals ?? []).find((a) => a.type === 'OPT') as
    { udpPayloadSize?: number } | undefined;
  const limit =
    transport === 'tcp'
      ? 65535
      : opt
        ? Math.max(CLASSIC_UDP_SIZE, Math.min(opt.udpPayloadSize ?? 0, EDNS_UDP_SIZE))
        : CLASSIC_UDP_SIZE;
  const outcome =
    q.class && q.class !== 'IN' ? ({ kind: 'outside' } as const) : safeResolve(q.name, q.type, index, opts);
  let rcode: number = RCODE.NOERROR;
  let answers: Answer[] = [];
  let authorities: Answer[] = [];
  let additionals: Answer[] = [];
  let authoritative = true;
  switch (outcome.kind) {
    case 'answer':
      answers = outcome.answers.map(toWire);
      additionals = outcome.additionals.map(toWire);
      break;
    case 'nodata':
      authorities = outcome.authority.map(toWire);
      break;
    case 'nxdomain':
      rcode = RCODE.NXDOMAIN;
      authorities = outcome.authority.map(toWire);
      break;
    case 'outside':
      rcode = RCODE.REFUSED;
      authoritative = false;
      break;
    case 'error':
      rcode = RCODE.SERVFAIL;
      authoritative = false;
      break;
  }
  const edns: Answer[] = opt ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE } as Answer] : [];
  const base = {
    type: 'response' as const,
    id: packet.id ?? 0,
    flags: (flags & RD) | (authoritative ? AA : 0) | rcode,
    questions: [q],
  };
  try {
    let out = dnsPacket.encode({ ...base, answers, authorities, additionals: [...additionals, ...edns] });
    if (out.length > limit) {
      // Additional records go first, then everything (TC): the client retries over TCP.
      out = dnsPacket.encode({ ...base, answers, authorities, additionals: edns });
      if (out.length > limit) out = dnsPacket.encode({ ...base, flags: base.flags | TC, additionals: edns });
    }
    return { response: out, rcode };
  } catch {
    return { response: headerOnly(query, RCODE.SERVFAIL), rcode: RCODE.SERVFAIL };
  }
}

function safeResolve(
  name: string,
  type: string,
  index: () => ClusterIndex,
  opts: SchemaOptions,
): ReturnType<typeof resolve> | { kind: 'error' } {
  try {
    return resolve(name, type, index(), opts);
  } catch {
    return { kind: 'error' };
  }
}
