/**
 * Who is asking: the apiserver's authenticators, as kube-apiserver's. A client certificate the
 * TLS layer verified against the cluster's client CA names the user (CN) and its groups (O); a
 * bearer token is looked up in the token file (kube-apiserver's --token-auth-file format:
 * `token,user,uid[,"group1,group2"]` per line). Secrets are compared in constant time: every
 * presented token is hashed and compared with every known token's hash, without an early exit.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { KdpError } from '../../errors.ts';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
}

/** One token file entry, as given to the server in memory (the token is kept only as a hash). */
export interface TokenEntry {
  token: string;
  user: string;
  uid?: string;
  groups?: readonly string[];
}

export const TOKEN_FILE_ERROR = 'KDP_ERR_APISERVER_TOKEN_FILE';
/** Every authenticated user is in this group, as upstream. */
const AUTHENTICATED = 'system:authenticated';
const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';

export class Authenticator {
  private readonly tokens: { digest: Buffer; user: UserInfo }[];

  constructor(tokens: readonly TokenEntry[] = []) {
    this.tokens = tokens.map((t) => ({
      digest: digest(t.token),
      user: { name: t.user, uid: t.uid, groups: [...(t.groups ?? [])] },
    }));
  }

  /** The user behind `req`, or undefined when it carries no valid credential. */
  authenticate(req: IncomingMessage): UserInfo | undefined {
    const user = fromClientCertificate(req) ?? this.fromBearerToken(req.headers.authorization);
    if (!user) return undefined;
    return { ...user, groups: [...new Set([...user.groups, AUTHENTICATED])] };
  }

  private fromBearerToken(header: string | undefined): UserInfo | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    const presented = digest(m[1]);
    let found: UserInfo | undefined;
    for (const t of this.tokens) if (timingSafeEqual(presented, t.digest) && !found) found = t.user;
    return found;
  }
}

/** CN and O of a client certificate the TLS layer verified (chain to the CA, validity period). */
function fromClientCertificate(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || !socket.getPeerCertificate) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  // Upstream accepts a client certificate only for client authentication.
  if (cert.ext_key_usage && !cert.ext_key_usage.includes(CLIENT_AUTH_EKU)) return undefined;
  const name = first(cert.subject.CN);
  if (!name) return undefined;
  return { name, groups: all(cert.subject.O) };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function all(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Reads a token file. It must not be readable by group or others (it holds secrets); each line
 * is `token,user,uid[,"group1,group2"]`, blank lines and `#` comments skipped.
 */
export function readTokenFile(path: string): TokenEntry[] {
  let text: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      throw new KdpError(
        TOKEN_FILE_ERROR,
        `token file ${path} has mode ${mode.toString(8).padStart(4, '0')}; it holds secrets, make it 0600 (chmod 600 ${path})`,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof KdpError) throw e;
    throw new KdpError(TOKEN_FILE_ERROR, `cannot read the token file ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const entries: TokenEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = csvFields(line);
    const bad = (why: string) =>
      new KdpError(TOKEN_FILE_ERROR, `token file ${path}, line ${i + 1}: ${why}`, { details: { path } });
    if (!fields) throw bad('unbalanced quotes');
    if (fields.length < 3) throw bad('expected token,user,uid[,"group1,group2"]');
    const [token, user, uid, groups] = fields;
    if (!token) throw bad('the token is empty');
    if (!user) throw bad('the user name is empty');
    entries.push({
      token,
      user,
      uid: uid || undefined,
      groups: groups
        ? groups
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean)
        : [],
    });
  });
  return entries;
}

/** The fields of one CSV line (RFC 4180 quoting), or undefined when a quote is left open. */
function csvFields(line: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  if (quoted) return undefined;
  out.push(cur.trim());
  return out;
}

/** One token file line for `entry`, quoted so groups with commas survive. */
export function tokenFileLine(entry: TokenEntry): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return [entry.token, q(entry.user), q(entry.uid ?? ''), q((entry.groups ?? []).join(','))].join(',');
}
