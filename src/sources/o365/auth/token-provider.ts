/**
 * Per-tenant bearer tokens for the Management Activity API: one msal-node
 * ConfidentialClientApplication per tenant, client-credentials flow with scope `{apiRoot}/.default`,
 * secret or certificate. We cache the token ourselves (renewing before expiry, coalescing
 * concurrent callers) and always ask MSAL with skipCache, so "renew" means renew.
 */
import * as crypto from 'node:crypto';
// Before msal-node: its require('jsonwebtoken') then finds the stand-in (certificate assertions only).
import './lazy-jwt';
import { ConfidentialClientApplication, LogLevel, type Configuration } from '@azure/msal-node';
import type { TokenProvider } from '../../../contracts';
import type { HttpStack } from '../../../net/http';
import { BridgeError, redactUri } from '../../../errors';
import { registerSecret, redactSecrets, silentLogger, type Logger } from '../../../obs/log';
import { createMsalNetworkClient, type ObservedNetwork } from './msal-network';

export interface CertificateCredential {
  privateKeyPem: string;
  certificatePem: string;
  /** Send the certificate chain (`x5c`) for subject-name/issuer authentication. */
  sendX5c?: boolean;
}

export interface TokenProviderOptions {
  tenantId: string;
  clientId: string;
  /** Login authority without tenant, e.g. https://login.microsoftonline.com. */
  authority: string;
  /** API root; the scope is `{apiRoot}/.default` unless `scope` is given. */
  apiRoot: string;
  scope?: string;
  secret?: string;
  certificate?: CertificateCredential;
  http: HttpStack;
  logger?: Logger;
  clock?: () => number;
  /** Renew this long before expiry (capped at half the token's lifetime). Default 5 minutes. */
  renewBeforeMs?: number;
}

export interface TenantTokenProvider extends TokenProvider {
  readonly tenantId: string;
  /** Expiry (ms since epoch) of the cached token, or undefined. */
  readonly expiresAt: number | undefined;
}

/** Hosts MSAL knows (cloud discovery is hardcoded for them); any other authority is "custom". */
const MICROSOFT_LOGIN_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.windows.net',
  'login.microsoft.com',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login.partner.microsoftonline.cn',
  'login.chinacloudapi.cn',
]);

/** Hex SHA-256 thumbprint of a PEM certificate (what msal-node 7 puts in the `x5t#S256` header). */
export function certificateThumbprintSha256(certificatePem: string): string {
  return new crypto.X509Certificate(certificatePem).fingerprint256.replace(/:/g, '');
}

function prepareCertificate(c: CertificateCredential): { thumbprintSha256: string; privateKey: string; x5c?: string } {
  let cert: crypto.X509Certificate;
  let key: crypto.KeyObject;
  try {
    cert = new crypto.X509Certificate(c.certificatePem);
  } catch {
    throw new BridgeError('CONFIG_INVALID', 'the client certificate is not a readable PEM certificate: give the PEM (-----BEGIN CERTIFICATE-----) file.');
  }
  try {
    key = crypto.createPrivateKey(c.privateKeyPem);
  } catch {
    throw new BridgeError('CONFIG_INVALID', 'the client certificate private key is not a readable (unencrypted) PEM key.');
  }
  if (!cert.checkPrivateKey(key)) {
    throw new BridgeError('CONFIG_INVALID', 'the private key does not belong to the client certificate: give the matching pair.');
  }
  // MSAL signs with a PKCS#8 PEM; accept PKCS#1 ("BEGIN RSA PRIVATE KEY") too by converting.
  const privateKey = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  registerSecret(privateKey);
  registerSecret(c.privateKeyPem);
  return {
    thumbprintSha256: cert.fingerprint256.replace(/:/g, ''),
    privateKey,
    ...(c.sendX5c ? { x5c: c.certificatePem } : {}),
  };
}

/** Static metadata for a non-Microsoft authority so MSAL never calls Microsoft for instance discovery. */
function customAuthorityConfig(tenantAuthority: string): Pick<Configuration['auth'], 'knownAuthorities' | 'authorityMetadata' | 'cloudDiscoveryMetadata'> {
  const host = new URL(tenantAuthority).host;
  return {
    knownAuthorities: [host],
    authorityMetadata: JSON.stringify({
      token_endpoint: `${tenantAuthority}/oauth2/v2.0/token`,
      authorization_endpoint: `${tenantAuthority}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${tenantAuthority}/oauth2/v2.0/logout`,
      issuer: `${tenantAuthority}/v2.0`,
      jwks_uri: `${tenantAuthority}/discovery/v2.0/keys`,
    }),
    cloudDiscoveryMetadata: JSON.stringify({
      tenant_discovery_endpoint: `${tenantAuthority}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    }),
  };
}

/** AADSTS codes users meet, with what to do. */
const AADSTS_HINTS: Record<string, string> = {
  '7000215': 'the client secret is wrong: use the secret value (not its id) from the app registration',
  '7000222': 'the client secret expired: create a new one in the app registration',
  '700016': 'the app (clientId) is not found in this tenant: check clientId/tenantId and that admin consent was granted',
  '90002': 'the tenant is not found: check tenantId and the cloud',
  '700027': 'the certificate is not registered on the app registration (or the assertion is invalid): upload the certificate',
  '700024': 'the client assertion is out of its validity window: check the system clock',
  '50049': 'unknown or invalid authority: check the cloud / authorityUrl',
};

function mapMsalError(err: unknown, ctx: { tenantId: string; clientId: string; authority: string }, observed: ObservedNetwork): BridgeError {
  if (err instanceof BridgeError) return err;
  const e = err as { errorCode?: string; errorMessage?: string; subError?: string; message?: string };
  const where = `tenant ${ctx.tenantId}, client ${ctx.clientId} at ${redactUri(ctx.authority)}`;
  const details = { tenantId: ctx.tenantId, clientId: ctx.clientId, authority: redactUri(ctx.authority), msalCode: e.errorCode ?? null, status: observed.lastStatus ?? null };
  if (observed.lastTransportError || e.errorCode === 'network_error') {
    const code = observed.lastTransportError?.code ?? 'network';
    return new BridgeError('AUTH_UNAVAILABLE', `token endpoint unreachable for ${where} (${code}); retried with backoff, check network, proxy and CA`, {
      retryable: true,
      details: { ...details, cause: code },
    });
  }
  const status = observed.lastStatus;
  const text = redactSecrets(String(e.errorMessage ?? e.message ?? '').split(/\r?\n/)[0]).slice(0, 300);
  if ((status !== undefined && (status >= 500 || status === 429)) || /throttl/i.test(e.errorCode ?? '')) {
    return new BridgeError('AUTH_UNAVAILABLE', `token endpoint failed for ${where} (HTTP ${status ?? '?'}${e.errorCode ? `, ${e.errorCode}` : ''}); retried with backoff`, {
      retryable: true,
      details,
    });
  }
  const aadsts = /AADSTS(\d+)/.exec(text)?.[1];
  const hint = (aadsts && AADSTS_HINTS[aadsts]) || 'check clientId, tenantId, the credential and admin consent';
  return new BridgeError('AUTH_FAILED', `token request failed for ${where}: ${e.errorCode ?? 'error'}${text ? ` (${text})` : ''}; ${hint}`, {
    retryable: false,
    details: { ...details, aadsts: aadsts ?? null },
  });
}

export function createTokenProvider(opts: TokenProviderOptions): TenantTokenProvider {
  const logger = (opts.logger ?? silentLogger).child({ tenant: opts.tenantId, component: 'auth' });
  const clock = opts.clock ?? Date.now;
  const renewBeforeMs = opts.renewBeforeMs ?? 5 * 60_000;
  if (!opts.secret === !opts.certificate) {
    throw new BridgeError('CONFIG_INVALID', `tenant ${opts.tenantId}: configure exactly one credential, a client secret or a certificate.`);
  }
  registerSecret(opts.secret);
  const authorityBase = opts.authority.replace(/\/+$/, '');
  const tenantAuthority = `${authorityBase}/${opts.tenantId}`;
  const scope = opts.scope ?? `${opts.apiRoot.replace(/\/+$/, '')}/.default`;
  const observed: ObservedNetwork = {};
  const isMicrosoftHost = MICROSOFT_LOGIN_HOSTS.has(new URL(authorityBase).hostname.toLowerCase());

  const config: Configuration = {
    auth: {
      clientId: opts.clientId,
      authority: tenantAuthority,
      ...(opts.secret ? { clientSecret: opts.secret } : { clientCertificate: prepareCertificate(opts.certificate!) }),
      ...(isMicrosoftHost ? {} : customAuthorityConfig(tenantAuthority)),
    },
    system: {
      networkClient: createMsalNetworkClient(opts.http, observed),
      // Our API client owns retries (injected clock, Retry-After); MSAL's own would sleep on real time.
      disableInternalRetries: true,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level, message) => {
          if (level <= LogLevel.Error) logger.warn('msal', { detail: redactSecrets(message).slice(0, 300) });
        },
      },
    },
  };
  const cca = new ConfidentialClientApplication(config);

  let cached: { token: string; expiresAt: number; renewAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  const acquire = async (): Promise<string> => {
    let result;
    try {
      result = await cca.acquireTokenByClientCredential({ scopes: [scope], skipCache: true });
    } catch (err) {
      // After a 5xx or 429, MSAL refuses the same request from its own cache for 60 s (or Retry-After)
      // without asking the server, and our backoff (the one retry policy: see disableInternalRetries)
      // gave up inside that window: one transient 503 from the token endpoint failed the tenant's
      // pass. Its cache holds nothing else we use (tokens are ours, skipCache), so it is emptied.
      cca.clearCache();
      const mapped = mapMsalError(err, { tenantId: opts.tenantId, clientId: opts.clientId, authority: authorityBase }, observed);
      logger.warn('token request failed', { code: mapped.code, error: mapped.message });
      throw mapped;
    }
    if (!result?.accessToken) {
      throw new BridgeError('AUTH_FAILED', `token request for tenant ${opts.tenantId} returned no access token; check the app registration`, { retryable: false });
    }
    registerSecret(result.accessToken, { ephemeral: true });
    const now = clock();
    // MSAL computes expiresOn from expires_in on the real clock; re-base the lifetime onto ours.
    const lifetime = Math.max(0, (result.expiresOn ? result.expiresOn.getTime() : Date.now() + 3_600_000) - Date.now());
    const expiresAt = now + lifetime;
    cached = { token: result.accessToken, expiresAt, renewAt: expiresAt - Math.min(renewBeforeMs, lifetime / 2) };
    logger.info('token acquired', { expiresAt: new Date(expiresAt).toISOString() });
    return result.accessToken;
  };

  return {
    tenantId: opts.tenantId,
    get expiresAt() {
      return cached?.expiresAt;
    },
    getToken(forceRefresh = false): Promise<string> {
      if (!forceRefresh && cached && clock() < cached.renewAt) return Promise.resolve(cached.token);
      if (forceRefresh) cached = undefined;
      // Concurrent callers share one request; a forced renewal during one reuses it (it is fresh too).
      if (!inflight) inflight = acquire().finally(() => (inflight = undefined));
      return inflight;
    },
  };
}
