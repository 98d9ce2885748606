/**
 * The Azure AD (Entra ID) side: v2 (and v1) client-credentials token endpoint with client secret or
 * certificate assertion, OpenID metadata, JWKS and instance discovery — enough for
 * @azure/msal-node to use the emulator as its authority. Error bodies copy Azure AD's shape
 * (error, error_description with AADSTS code and trace lines, error_codes, timestamp, trace_id,
 * correlation_id, error_uri).
 */
import * as crypto from 'node:crypto';
import { aadTimestamp } from './time';
import { certThumbprints } from './certs';
import type { ResolvedTenant } from './types';

export const ROLE_READ = 'ActivityFeed.Read';
export const ROLE_READ_DLP = 'ActivityFeed.ReadDlp';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CLOCK_SKEW_S = 300;

export interface AccessClaims {
  aud: string;
  tid: string;
  appid: string;
  roles: string[];
  exp: number;
  nbf: number;
}

interface SigningKey {
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  kid: string;
  jwk: Record<string, unknown>;
}

let signingKey: SigningKey | undefined;

/** One RSA key per process signs every emulator's access tokens; published in the JWKS. */
function key(): SigningKey {
  if (signingKey) return signingKey;
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const kid = b64url(crypto.createHash('sha1').update(der).digest());
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  signingKey = { privateKey, publicKey, kid, jwk: { kty: 'RSA', use: 'sig', kid, x5t: kid, n: jwk.n, e: jwk.e } };
  return signingKey;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

export interface TokenResult {
  status: number;
  body: Record<string, unknown>;
}

export interface AuthorityContext {
  baseUrl: string;
  now(): number;
  tokenLifetimeSec: number;
  tenantBySegment(segment: string): ResolvedTenant | undefined;
  /** Fault: answer 503 to this request. */
  failToken(): boolean;
}

/** The v2 authority's error body. */
export function aadError(
  ctx: AuthorityContext,
  status: number,
  error: string,
  code: number,
  message: string,
): TokenResult {
  const traceId = crypto.randomUUID();
  const correlationId = crypto.randomUUID();
  const ts = aadTimestamp(ctx.now());
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${ts}`,
      error_codes: [code],
      timestamp: ts,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${ctx.baseUrl}/error?code=${code}`,
    },
  };
}

/**
 * POST /{tenant}/oauth2/v2.0/token (v2: `scope`) or /{tenant}/oauth2/token (v1: `resource`).
 * Checks happen in Azure AD's order: tenant, grant, client, scope, credential.
 */
export function tokenRequest(ctx: AuthorityContext, segment: string, form: URLSearchParams, v1: boolean): TokenResult {
  if (ctx.failToken()) {
    return aadError(ctx, 503, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.');
  }
  const tenant = ctx.tenantBySegment(segment);
  if (!tenant) {
    return aadError(ctx, 400, 'invalid_request', 90002, `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
  }
  const missing = (name: string): TokenResult =>
    aadError(ctx, 400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
  const grant = form.get('grant_type');
  if (!grant) return missing('grant_type');
  if (grant !== 'client_credentials') {
    return aadError(ctx, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
  }
  const clientId = form.get('client_id');
  if (!clientId) return missing('client_id');
  if (clientId.toLowerCase() !== tenant.clientId.toLowerCase()) {
    return aadError(ctx, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant.domain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
  }
  let resource: string;
  if (v1) {
    const r = form.get('resource');
    if (!r) return missing('resource');
    resource = r;
  } else {
    const scope = form.get('scope');
    if (!scope) return missing('scope');
    const scopes = scope.split(' ').filter(Boolean);
    const dflt = scopes.filter((s) => s.endsWith('/.default'));
    // msal may add OIDC scopes; the client-credentials flow needs exactly one resource/.default.
    if (dflt.length !== 1 || scopes.some((s) => !s.endsWith('/.default') && !['openid', 'profile', 'offline_access'].includes(s))) {
      return aadError(ctx, 400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    resource = dflt[0].slice(0, -'/.default'.length);
  }
  if (resource.replace(/\/+$/, '') !== ctx.baseUrl) {
    return aadError(ctx, 400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${tenant.domain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
  }

  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  let appidacr: '1' | '2';
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
      return aadError(ctx, 400, 'invalid_request', 70002, `The client_assertion_type must be '${ASSERTION_TYPE}'.`);
    }
    const audiences = [
      `${ctx.baseUrl}/${segment}/oauth2/v2.0/token`,
      `${ctx.baseUrl}/${tenant.tenantId}/oauth2/v2.0/token`,
      `${ctx.baseUrl}/${segment}/oauth2/token`,
      `${ctx.baseUrl}/${tenant.tenantId}/oauth2/token`,
    ];
    const bad = checkAssertion(assertion, tenant, audiences);
    if (bad) return aadError(ctx, 401, 'invalid_client', bad.code, bad.message);
    appidacr = '2';
  } else if (secret !== null) {
    if (!timingSafeEqual(secret, tenant.clientSecret)) {
      return aadError(ctx, 401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${tenant.clientId}'.`);
    }
    appidacr = '1';
  } else {
    return aadError(ctx, 401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }

  const lifetime = ctx.tokenLifetimeSec;
  const token = issueAccessToken(ctx, tenant, resource.replace(/\/+$/, ''), appidacr, lifetime);
  const body: Record<string, unknown> = v1
    ? // v1 writes numbers as strings.
      {
        token_type: 'Bearer',
        expires_in: String(lifetime),
        ext_expires_in: String(lifetime),
        expires_on: String(Math.floor(ctx.now() / 1000) + lifetime),
        not_before: String(Math.floor(ctx.now() / 1000)),
        resource,
        access_token: token,
      }
    : { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token };
  return { status: 200, body };
}

function timingSafeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

/** Validates a client assertion like Azure AD: thumbprint, signature, audience, issuer/subject, lifetime. */
function checkAssertion(jwt: string, tenant: ResolvedTenant, audiences: string[]): { code: number; message: string } | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { code: 50027, message: 'JWT token is invalid or malformed.' };
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { code: 50027, message: 'JWT token is invalid or malformed.' };
  }
  if (!tenant.certificatePem) {
    return { code: 700027, message: "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '" + tenant.clientId + "'.]" };
  }
  const tp = certThumbprints(tenant.certificatePem);
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  const x5t256 = typeof header['x5t#S256'] === 'string' ? (header['x5t#S256'] as string) : undefined;
  const used = x5t256 ? Buffer.from(x5t256, 'base64url').toString('hex').toUpperCase() : x5t ? Buffer.from(x5t, 'base64url').toString('hex').toUpperCase() : '';
  const matches = (x5t256 && used === tp.sha256) || (!x5t256 && x5t && used === tp.sha1);
  if (!matches) {
    return { code: 700027, message: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${used}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${tenant.clientId}'.]` };
  }
  const alg = header.alg;
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const sig = Buffer.from(parts[2], 'base64url');
  const pub = new crypto.X509Certificate(tenant.certificatePem).publicKey;
  let ok = false;
  try {
    if (alg === 'RS256') ok = crypto.verify('sha256', data, pub, sig);
    else if (alg === 'PS256') ok = crypto.verify('sha256', data, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO }, sig);
  } catch {
    ok = false;
  }
  if (!ok) return { code: 700027, message: 'Client assertion failed signature validation.' };
  if (typeof payload.aud !== 'string' || !audiences.includes(payload.aud)) {
    return { code: 700212, message: `No matching federated identity record found for presented assertion audience '${String(payload.aud)}'.` };
  }
  if (payload.iss !== tenant.clientId || payload.sub !== tenant.clientId) {
    return { code: 700021, message: "Client assertion application identifier doesn't match 'client_id' parameter." };
  }
  // The assertion is made by a real client with the real clock, whatever clock the emulator runs on.
  const nowS = Math.floor(Date.now() / 1000);
  const exp = Number(payload.exp);
  const nbf = payload.nbf === undefined ? nowS : Number(payload.nbf);
  if (!Number.isFinite(exp) || exp + CLOCK_SKEW_S < nowS || nbf - CLOCK_SKEW_S > nowS) {
    return { code: 700024, message: `Client assertion is not within its valid time range. Current time: ${new Date(nowS * 1000).toISOString()}, assertion valid from ${new Date(nbf * 1000).toISOString()}, expiry time of assertion ${new Date(exp * 1000).toISOString()}.` };
  }
  return undefined;
}

function issueAccessToken(ctx: AuthorityContext, t: ResolvedTenant, resource: string, appidacr: string, lifetime: number): string {
  const k = key();
  const iat = Math.floor(ctx.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5t: k.kid, kid: k.kid };
  const payload = {
    aud: resource,
    iss: `https://sts.windows.net/${t.tenantId}/`,
    iat,
    nbf: iat,
    exp: iat + lifetime,
    aio: crypto.randomBytes(24).toString('base64'),
    app_displayname: 'o365-fluent-bridge',
    appid: t.clientId,
    appidacr,
    idp: `https://sts.windows.net/${t.tenantId}/`,
    idtyp: 'app',
    oid: crypto.createHash('sha256').update(t.clientId).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5'),
    rh: '0.' + crypto.randomBytes(16).toString('base64url') + '.',
    roles: t.roles,
    sub: t.clientId,
    tid: t.tenantId,
    uti: crypto.randomBytes(16).toString('base64url'),
    ver: '1.0',
  };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = crypto.sign('sha256', Buffer.from(signingInput), k.privateKey);
  return `${signingInput}.${b64url(sig)}`;
}

const verified = new Map<string, AccessClaims>();

/** Verifies an emulator-issued access token; undefined when it is not one (or tampered with). */
export function verifyAccessToken(token: string): AccessClaims | undefined {
  const hit = verified.get(token);
  if (hit) return hit;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const pub = key().publicKey;
  let ok = false;
  try {
    ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), pub, Buffer.from(parts[2], 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) return undefined;
  let claims: AccessClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as AccessClaims;
  } catch {
    return undefined;
  }
  // Bounded: a client renews hourly, so a few thousand entries cover any test or bench.
  if (verified.size >= 5000) verified.delete(verified.keys().next().value as string);
  verified.set(token, claims);
  return claims;
}

/** GET /{tenant}/v2.0/.well-known/openid-configuration (and the v1 / OIDC-mode spellings). */
export function openIdConfiguration(baseUrl: string, segment: string, tenantId: string | undefined): Record<string, unknown> {
  const tid = tenantId ?? '{tenantid}';
  const t = tenantId ?? segment;
  return {
    token_endpoint: `${baseUrl}/${t}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${baseUrl}/${t}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${baseUrl}/${tid}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
    authorization_endpoint: `${baseUrl}/${t}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${baseUrl}/${t}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${baseUrl}/${t}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'ver', 'oid', 'roles'],
    kerberos_endpoint: `${baseUrl}/${t}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'emulator.local',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

export function jwks(): Record<string, unknown> {
  return { keys: [key().jwk] };
}

/** GET /common/discovery/instance: the emulator is its own (only) cloud. */
export function instanceDiscovery(baseUrl: string, hostAndPort: string): Record<string, unknown> {
  return {
    tenant_discovery_endpoint: `${baseUrl}/{tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: hostAndPort, preferred_cache: hostAndPort, aliases: [hostAndPort] }],
  };
}
