/**
 * The apiserver's PKI, as kubeadm lays it out: a per-cluster CA (kept in `pki/` of the state dir
 * and reused while it is valid, so kubeconfigs written before a restart keep working), a serving
 * certificate for the TCP listener made at every start (its SANs follow the listen address), and
 * client certificates signed by the same CA (CN = user, O = groups, as upstream reads them).
 * Keys are EC P-256 from node's webcrypto; certificates come from @peculiar/x509.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { KdpError } from '../../errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;
/** CA lifetime, as kubeadm's (10 years); leaf certificates live a year, as kubeadm's. */
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** A CA that expires sooner than this is replaced at start rather than reused. */
const CA_MIN_REMAINING_MS = 30 * DAY_MS;
/** Clock skew tolerated between this host's processes (certificates start a little in the past). */
const BACKDATE_MS = 5 * 60 * 1000;

export const PKI_ERROR = 'KDP_ERR_APISERVER_PKI';

/** PEM certificate and its PKCS#8 PEM key. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface ClientCertificateRequest {
  /** The user name (CN). */
  user: string;
  /** The groups (one O each). */
  groups?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
}

export class ClusterPki {
  private constructor(
    readonly dir: string,
    /** The CA certificate (PEM): clients verify the server with it, the server clients. */
    readonly caCert: string,
    private readonly caX509: x509.X509Certificate,
    private readonly caKey: CryptoKey,
  ) {}

  /** Loads the CA from `dir` (made 0700) when it is there and valid for a while yet, else makes one. */
  static async open(dir: string): Promise<ClusterPki> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const certPath = join(dir, 'ca.crt');
    const keyPath = join(dir, 'ca.key');
    if (existsSync(certPath) && existsSync(keyPath)) {
      const loaded = await loadCa(certPath, keyPath);
      if (loaded && loaded.cert.notAfter.getTime() - Date.now() > CA_MIN_REMAINING_MS) {
        chmodSync(keyPath, 0o600);
        return new ClusterPki(dir, loaded.cert.toString('pem'), loaded.cert, loaded.key);
      }
    }
    const keys = await generateKeys();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: [{ CN: ['kdp-ca'] }],
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + CA_DAYS * DAY_MS),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    writeFileSync(keyPath, await keyPem(keys.privateKey), { mode: 0o600 });
    chmodSync(keyPath, 0o600);
    writeFileSync(certPath, cert.toString('pem'), { mode: 0o644 });
    return new ClusterPki(dir, cert.toString('pem'), cert, keys.privateKey);
  }

  /**
   * A serving certificate for `hosts` (IP addresses and DNS names) plus loopback and localhost,
   * written to apiserver.crt/.key in the PKI dir. A wildcard listen address stands for every
   * address of this host's interfaces, as clients may use any of them.
   */
  async issueServing(hosts: readonly string[]): Promise<KeyPairPem> {
    const expanded = hosts.flatMap((h) => (isWildcard(h) ? interfaceAddresses() : [h]));
    const names = new Set(['127.0.0.1', '::1', 'localhost', ...expanded.filter(Boolean)]);
    const sans = [...names].map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }));
    const pair = await this.issue([{ CN: ['kdp-apiserver'] }], {}, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans),
    ]);
    writeFileSync(join(this.dir, 'apiserver.key'), pair.key, { mode: 0o600 });
    chmodSync(join(this.dir, 'apiserver.key'), 0o600);
    writeFileSync(join(this.dir, 'apiserver.crt'), pair.cert, { mode: 0o644 });
    return pair;
  }

  /** A client certificate for `user` in `groups`, as upstream's x509 authenticator reads it. */
  issueClient(req: ClientCertificateRequest): Promise<KeyPairPem> {
    if (!req.user) throw new KdpError(PKI_ERROR, 'a client certificate needs a user name (CN)');
    const name: x509.JsonName = [{ CN: [req.user] }, ...(req.groups ?? []).map((g) => ({ O: [g] }))];
    return this.issue(name, req, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])]);
  }

  private async issue(
    name: x509.JsonName,
    validity: { notBefore?: Date; notAfter?: Date },
    extensions: x509.Extension[],
  ): Promise<KeyPairPem> {
    const keys = await generateKeys();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: name,
      issuer: this.caX509.subject,
      notBefore: validity.notBefore ?? new Date(now - BACKDATE_MS),
      notAfter: validity.notAfter ?? new Date(now + LEAF_DAYS * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: this.caKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.caX509),
        ...extensions,
      ],
    });
    return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
  }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) =>
    (list ?? []).filter((a) => !a.address.startsWith('fe80:')).map((a) => a.address),
  );
}

function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** 16 random bytes with the top bit clear, so the DER integer stays positive. */
function serialNumber(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f;
  return Buffer.from(b).toString('hex');
}

/** The stored CA, or undefined when it cannot be read or its key does not match (it is then replaced). */
async function loadCa(
  certPath: string,
  keyPath: string,
): Promise<{ cert: x509.X509Certificate; key: CryptoKey } | undefined> {
  try {
    const cert = new x509.X509Certificate(readFileSync(certPath, 'utf8'));
    const der = x509.PemConverter.decodeFirst(readFileSync(keyPath, 'utf8'));
    const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
    // The key must be the certificate's: sign and verify a probe.
    const probe = new Uint8Array([1, 2, 3]);
    const sig = await webcrypto.subtle.sign(ALG, key, probe);
    const pub = await cert.publicKey.export(ALG, ['verify']);
    if (!(await webcrypto.subtle.verify(ALG, pub, sig, probe))) return undefined;
    return { cert, key };
  } catch {
    return undefined;
  }
}
