/**
 * Reads a kubeconfig the way kubectl does, so `kdp` and its benchmarks can point at a real cluster
 * with the file the user already has: the current (or a named) context, its cluster's server and
 * CA, and its user's token or client certificate. Every problem names the file and the field, so
 * "it does not connect" becomes "users[name="admin"].user.client-key is missing".
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { KdpError } from '../errors.ts';

export interface KubeconfigCredentials {
  /** The file read. */
  path: string;
  context: string;
  cluster: string;
  user?: string;
  /** The context's namespace, 'default' when it names none. */
  namespace: string;
  server: string;
  ca?: Buffer;
  insecureSkipTLSVerify: boolean;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
}

export interface LoadKubeconfigOptions {
  /** The file; else the first file in $KUBECONFIG, else ~/.kube/config. */
  path?: string;
  /** A context by name instead of current-context. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

type Mapping = Record<string, unknown>;

/** The kubeconfig file kubectl would read. */
export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const first = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p.trim() !== '');
  return first ?? join(home, '.kube', 'config');
}

export function loadKubeconfig(opts: LoadKubeconfigOptions = {}): KubeconfigCredentials {
  const path = resolve(opts.path ?? kubeconfigPath(opts.env, opts.home));
  const fail = (field: string, problem: string, cause?: unknown): never => {
    throw new KdpError('KDP_ERR_KUBECONFIG_INVALID', `kubeconfig ${path}: ${field} ${problem}`, {
      cause,
      details: { path, field },
    });
  };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return fail(
      'file',
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass a kubeconfig path, set KUBECONFIG, or create ~/.kube/config`,
      err,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return fail('file', `is not valid YAML: ${(err as Error).message}`, err);
  }
  if (!isMapping(doc)) return fail('file', 'is not a YAML mapping (expected apiVersion: v1, kind: Config)');
  const baseDir = dirname(path);

  const contextName = opts.context ?? str(doc['current-context']);
  if (!contextName) return fail('current-context', 'is not set; name a context');
  const [ctxField, ctx] = entry(doc, 'contexts', 'context', contextName, fail);
  const clusterName = str(ctx.cluster);
  if (!clusterName) return fail(`${ctxField}.cluster`, 'is missing');
  const userName = str(ctx.user);
  const [clField, cl] = entry(doc, 'clusters', 'cluster', clusterName, fail);

  const server = str(cl.server);
  if (!server) return fail(`${clField}.server`, 'is missing');
  if (!/^https?:\/\/[^/]/.test(server))
    return fail(`${clField}.server`, `must be an http(s) URL, not "${server}"`);
  const insecure = cl['insecure-skip-tls-verify'] ?? false;
  if (typeof insecure !== 'boolean')
    return fail(`${clField}.insecure-skip-tls-verify`, 'must be true or false');

  const readRef = (field: string, file: unknown): Buffer => {
    if (typeof file !== 'string' || !file) return fail(field, 'must be a file path');
    try {
      return readFileSync(resolve(baseDir, file));
    } catch (err) {
      return fail(field, `names a file that cannot be read: ${file}`, err);
    }
  };
  const pem = (obj: Mapping, field: string, key: string): Buffer | undefined => {
    const data = obj[`${key}-data`];
    const buf =
      data !== undefined
        ? decodeBase64(data, `${field}.${key}-data`, fail)
        : obj[key] !== undefined
          ? readRef(`${field}.${key}`, obj[key])
          : undefined;
    if (buf && !buf.toString('utf8').includes('-----BEGIN')) {
      return fail(
        `${field}.${key}${data !== undefined ? '-data' : ''}`,
        'does not hold PEM data (-----BEGIN ...)',
      );
    }
    return buf;
  };

  const creds: KubeconfigCredentials = {
    path,
    context: contextName,
    cluster: clusterName,
    user: userName,
    namespace: str(ctx.namespace) ?? 'default',
    server,
    ca: pem(cl, clField, 'certificate-authority'),
    insecureSkipTLSVerify: insecure,
  };
  if (!userName) return creds;

  const [uField, user] = entry(doc, 'users', 'user', userName, fail);
  if (user.exec !== undefined) {
    return fail(
      `${uField}.exec`,
      'uses an exec credential plugin, which kdp does not run; use a token or a client certificate',
    );
  }
  if (user['auth-provider'] !== undefined) {
    return fail(
      `${uField}.auth-provider`,
      'uses an auth provider, which kdp does not support; use a token or a client certificate',
    );
  }
  if (user.username !== undefined || user.password !== undefined) {
    return fail(
      `${uField}.username`,
      'is basic auth, which kdp does not support; use a token or a client certificate',
    );
  }
  if (user.token !== undefined) {
    if (typeof user.token !== 'string' || !user.token)
      return fail(`${uField}.token`, 'must be a non-empty string');
    creds.token = user.token;
  } else if (user.tokenFile !== undefined) {
    creds.token = readRef(`${uField}.tokenFile`, user.tokenFile).toString('utf8').trim();
    if (!creds.token) return fail(`${uField}.tokenFile`, 'names an empty file');
  }
  creds.cert = pem(user, uField, 'client-certificate');
  creds.key = pem(user, uField, 'client-key');
  if (creds.cert && !creds.key)
    return fail(`${uField}.client-key`, 'is missing (client-certificate needs it)');
  if (creds.key && !creds.cert)
    return fail(`${uField}.client-certificate`, 'is missing (client-key needs it)');
  return creds;
}

function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `contexts[name="x"].context` and its mapping, or a failure naming what is missing. */
function entry(
  doc: Mapping,
  list: string,
  inner: string,
  name: string,
  fail: (field: string, problem: string) => never,
): [string, Mapping] {
  const items = doc[list];
  if (items !== undefined && items !== null && !Array.isArray(items)) return fail(list, 'must be a list');
  const found = ((items as unknown[] | null) ?? []).find((x) => isMapping(x) && x.name === name) as
    Mapping | undefined;
  const field = `${list}[name="${name}"]`;
  if (!found) return fail(field, 'is not in the file');
  const body = found[inner];
  if (!isMapping(body)) return fail(`${field}.${inner}`, 'is missing or not a mapping');
  return [`${field}.${inner}`, body];
}

function decodeBase64(v: unknown, field: string, fail: (field: string, problem: string) => never): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(v)) return fail(field, 'is not base64');
  return Buffer.from(v, 'base64');
}
