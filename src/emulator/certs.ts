/**
 * Certificates for HTTPS and for certificate-credential tests. Keys come from Node's crypto (native,
 * fast); node-forge only builds and signs the X.509 structures.
 */
import * as crypto from 'node:crypto';
import forge from 'node-forge';

export interface ClientCertificate {
  certificatePem: string;
  privateKeyPem: string;
  /** Upper-case hex SHA-1 of the DER certificate (what Azure AD shows as "thumbprint"). */
  thumbprintSha1: string;
  thumbprintSha256: string;
}

export interface ServerCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function rsaKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; privateKeyPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    privateKeyPem: privateKey,
  };
}

function serial(): string {
  // 16 bytes, positive, and minimally encoded: a first byte of 0x00 followed by one below 0x80
  // is a non-minimal DER INTEGER, which Node's TLS rejects ("illegal padding") now and then.
  const b = crypto.randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 24 * 3600_000);
  cert.validity.notAfter = new Date(now + days * 24 * 3600_000);
}

export function certThumbprints(certificatePem: string): { sha1: string; sha256: string } {
  const der = new crypto.X509Certificate(certificatePem).raw;
  return {
    sha1: crypto.createHash('sha1').update(der).digest('hex').toUpperCase(),
    sha256: crypto.createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}

/** A self-signed certificate + key, as an app registration's certificate credential. */
export function createClientCertificate(commonName = 'o365-fluent-bridge test client'): ClientCertificate {
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, 365);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const certificatePem = forge.pki.certificateToPem(cert);
  const tp = certThumbprints(certificatePem);
  return { certificatePem, privateKeyPem: keys.privateKeyPem, thumbprintSha1: tp.sha1, thumbprintSha256: tp.sha256 };
}

let cached: ServerCredentials | undefined;

/**
 * A throw-away CA and a server certificate for 127.0.0.1 / ::1 / localhost signed by it. Made once
 * per process: each emulator instance serves the same pair, and clients trust `caPem`.
 */
export function serverCredentials(): ServerCredentials {
  if (cached) return cached;
  const caKeys = rsaKeyPair();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  validity(ca, 30);
  const caAttrs = [
    { name: 'commonName', value: 'o365-fluent-bridge emulator CA' },
    { name: 'organizationName', value: 'o365-fluent-bridge (test only)' },
  ];
  ca.setSubject(caAttrs);
  ca.setIssuer(caAttrs);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, 30);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caAttrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
      ],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());
  cached = { caPem: forge.pki.certificateToPem(ca), certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
  return cached;
}
