/**
 * A throwaway CA and a server certificate for 127.0.0.1/localhost, made once per process for
 * the client's transport tests. Keys come from node:crypto (fast, native); node-forge only signs.
 */
import * as crypto from 'node:crypto';
import forge from 'node-forge';

export interface TlsFixture {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function keyPair(): { pub: forge.pki.PublicKey; priv: forge.pki.PrivateKey; privPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { pub: forge.pki.publicKeyFromPem(pubPem), priv: forge.pki.privateKeyFromPem(privPem), privPem };
}

function makeCert(opts: {
  subjectCN: string;
  pub: forge.pki.PublicKey;
  signer: forge.pki.PrivateKey;
  issuer?: forge.pki.Certificate;
  ca?: boolean;
  san?: boolean;
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = opts.pub;
  cert.serialNumber = '01' + crypto.randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  const subject = [{ name: 'commonName', value: opts.subjectCN }];
  cert.setSubject(subject);
  cert.setIssuer(opts.issuer ? opts.issuer.subject.attributes : subject);
  const ext: object[] = [{ name: 'basicConstraints', cA: !!opts.ca }];
  if (opts.ca) ext.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true });
  else ext.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true });
  if (opts.san) ext.push({ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }, { type: 2, value: 'api.test' }] });
  cert.setExtensions(ext);
  cert.sign(opts.signer as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return cert;
}

let cached: TlsFixture | undefined;
export function tlsFixture(): TlsFixture {
  if (cached) return cached;
  const ca = keyPair();
  const caCert = makeCert({ subjectCN: 'client-test CA', pub: ca.pub, signer: ca.priv, ca: true });
  const srv = keyPair();
  const srvCert = makeCert({ subjectCN: '127.0.0.1', pub: srv.pub, signer: ca.priv, issuer: caCert, san: true });
  cached = { caPem: forge.pki.certificateToPem(caCert), certPem: forge.pki.certificateToPem(srvCert), keyPem: srv.privPem };
  return cached;
}

const clientCerts = new Map<string, { certificatePem: string; privateKeyPem: string }>();
/** A self-signed client certificate + key (for certificate authentication tests); one per name per process. */
export function clientCertificate(cn = 'bridge-test-app'): { certificatePem: string; privateKeyPem: string } {
  let c = clientCerts.get(cn);
  if (!c) {
    const k = keyPair();
    const cert = makeCert({ subjectCN: cn, pub: k.pub, signer: k.priv });
    c = { certificatePem: forge.pki.certificateToPem(cert), privateKeyPem: k.privPem };
    clientCerts.set(cn, c);
  }
  return c;
}
