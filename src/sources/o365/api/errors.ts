/**
 * Management Activity API responses and transport failures → BridgeError with a stable code,
 * a handling class (`retryable`) and a hint that says what to do. AF codes and their treatment
 * come from the reference sheet §2.3/§2.4; HTTP statuses per AF code are not documented, so the
 * AF code wins over the status (AF429 arrives as HTTP 403 and is throttling, not a permission error).
 */
import { BridgeError, type ErrorCode, redactUri } from '../../../errors';
import { redactSecrets } from '../../../obs/log';

export const HINT_PERMISSION =
  'grant the app the Office 365 Management APIs application permission ActivityFeed.Read (ActivityFeed.ReadDlp for DLP.All) and grant admin consent';
export const HINT_AUDIT_OFF =
  'check the tenant id, that unified audit logging is on in the tenant (it takes up to 60 minutes after enabling) and that admin consent was granted';
const HINT_NOT_SUBSCRIBED = 'start the subscription (`subscriptions start <contentType>`); first content can take up to 12 hours';
const HINT_DISABLED = 'a tenant or service admin disabled it: re-enable with `subscriptions start <contentType>` when allowed';
const HINT_WINDOW = 'the window must be ≤ 24 h, start < end, and start within the last 7 days: recompute it';
const HINT_RETRY = 'retried with backoff; if it persists, check the service health';

export interface ApiErrorBody {
  code?: string;
  message?: string;
}

/** Extracts `{error:{code,message}}` from a body (object or JSON text); tolerant of other shapes. */
export function parseErrorBody(body: unknown): ApiErrorBody {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 200) };
    }
  }
  if (b && typeof b === 'object') {
    const e = (b as Record<string, unknown>).error;
    if (e && typeof e === 'object') {
      const o = e as Record<string, unknown>;
      return {
        code: typeof o.code === 'string' ? o.code : undefined,
        message: typeof o.message === 'string' ? o.message : undefined,
      };
    }
    if (typeof e === 'string') return { code: e, message: String((b as Record<string, unknown>).error_description ?? '') };
  }
  return {};
}

interface Rule {
  code: ErrorCode;
  retryable: boolean;
  what: string;
  hint?: string;
}

const AF_RULES: Record<string, Rule> = {
  AF429: { code: 'API_THROTTLED', retryable: true, what: 'throttled by the API', hint: HINT_RETRY },
  AF50000: { code: 'API_SERVER', retryable: true, what: 'internal error in the API', hint: HINT_RETRY },
  AF10001: { code: 'API_FORBIDDEN', retryable: false, what: 'the token lacks ActivityFeed.Read', hint: HINT_PERMISSION },
  AF20010: { code: 'API_TENANT', retryable: false, what: 'the tenant in the URL differs from the token tenant', hint: 'use the same tenant id for authentication and API calls' },
  AF20011: { code: 'API_TENANT', retryable: false, what: 'the tenant does not exist or was deleted', hint: HINT_AUDIT_OFF },
  AF20012: { code: 'API_TENANT', retryable: false, what: 'the tenant is incorrectly configured', hint: HINT_AUDIT_OFF },
  AF20013: { code: 'API_TENANT', retryable: false, what: 'the tenant id is not a valid GUID', hint: 'set tenantId to the directory (tenant) GUID' },
  AF20020: { code: 'API_BAD_REQUEST', retryable: false, what: 'invalid content type', hint: 'use one of Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All' },
  AF20022: { code: 'API_NOT_SUBSCRIBED', retryable: false, what: 'no subscription for this content type', hint: HINT_NOT_SUBSCRIBED },
  AF20023: { code: 'API_SUBSCRIPTION_DISABLED', retryable: false, what: 'the subscription is disabled', hint: HINT_DISABLED },
  AF20030: { code: 'API_BAD_WINDOW', retryable: false, what: 'the time window was refused', hint: HINT_WINDOW },
  AF20055: { code: 'API_BAD_WINDOW', retryable: false, what: 'the time window was refused', hint: HINT_WINDOW },
  // An invalid nextPage is healed by re-listing the window, which is what the poller does on API_BAD_WINDOW.
  AF20031: { code: 'API_BAD_WINDOW', retryable: false, what: 'the next-page link was refused', hint: 're-list the window' },
  AF20050: { code: 'CONTENT_EXPIRED', retryable: false, what: 'the content does not exist', hint: 'counted as lost at source' },
  AF20051: { code: 'CONTENT_EXPIRED', retryable: false, what: 'the content expired (older than 7 days)', hint: 'counted as lost at source' },
};

/** Context of the failed call, for the message and details. */
export interface CallContext {
  uri: string;
  /** 'blob' makes 404/410 mean expired content; elsewhere they mean a wrong URL. */
  kind?: 'api' | 'blob';
}

function oneLine(s: string, max = 300): string {
  const t = redactSecrets(s.replace(/\s+/g, ' ').trim());
  return t.length > max ? t.slice(0, max) + '…' : t;
}

function build(rule: Rule, status: number | undefined, af: ApiErrorBody, ctx: CallContext, extra: Record<string, unknown> = {}): BridgeError {
  const uri = redactUri(ctx.uri);
  const codePart = [af.code, status !== undefined ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
  const apiMsg = af.message ? `: ${oneLine(af.message)}` : '';
  const hint = rule.hint ? `; ${rule.hint}` : '';
  const msg = `${rule.what}${codePart ? ` (${codePart})` : ''} on ${uri}${apiMsg}${hint}`;
  return new BridgeError(rule.code, msg, {
    retryable: rule.retryable,
    details: { afCode: af.code ?? null, status: status ?? null, uri, ...extra },
  });
}

/** Maps an HTTP error response (status ≥ 300) to a BridgeError. `retryAfterMs` is kept in details. */
export function mapHttpError(status: number, body: unknown, ctx: CallContext, retryAfterMs?: number): BridgeError {
  const af = parseErrorBody(body);
  const extra = retryAfterMs !== undefined ? { retryAfterMs } : {};
  const rule = af.code ? AF_RULES[af.code.toUpperCase()] : undefined;
  if (rule) return build(rule, status, af, ctx, extra);
  // Seen in the wild when unified audit logging is off: a non-AF code and "Tenant <id> does not exist".
  if (af.message && /tenant\b.*\bdoes not exist/i.test(af.message)) {
    return build({ code: 'API_TENANT', retryable: false, what: 'the API says the tenant does not exist', hint: HINT_AUDIT_OFF }, status, af, ctx, extra);
  }
  if (status === 429) return build(AF_RULES.AF429, status, af, ctx, extra);
  if (status === 401) {
    return build({ code: 'API_UNAUTHORIZED', retryable: false, what: 'the API refused the token', hint: 'check that the app, tenant and cloud match (the token audience must be the API root)' }, status, af, ctx, extra);
  }
  if (status === 403) return build({ code: 'API_FORBIDDEN', retryable: false, what: 'access denied', hint: HINT_PERMISSION }, status, af, ctx, extra);
  if ((status === 404 || status === 410) && ctx.kind === 'blob') return build(AF_RULES.AF20050, status, af, ctx, extra);
  if (status === 408) return build({ code: 'API_TIMEOUT', retryable: true, what: 'the API timed out', hint: HINT_RETRY }, status, af, ctx, extra);
  if (status >= 500) return build({ code: 'API_SERVER', retryable: true, what: 'server error', hint: HINT_RETRY }, status, af, ctx, extra);
  if (status >= 300 && status < 400) {
    return build({ code: 'API_BAD_REQUEST', retryable: false, what: 'unexpected redirect (not followed)', hint: 'check apiUrl and the proxy' }, status, af, ctx, extra);
  }
  if (status === 404) return build({ code: 'API_BAD_REQUEST', retryable: false, what: 'not found', hint: 'check the cloud / apiUrl and the tenant id' }, status, af, ctx, extra);
  return build({ code: 'API_BAD_REQUEST', retryable: false, what: 'request refused', hint: 'this is likely a bug; report it with the AF code' }, status, af, ctx, extra);
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_)/;

/** Maps a transport failure (no HTTP response, or a broken body) to a BridgeError. */
export function mapTransportError(err: unknown, ctx: CallContext): BridgeError {
  if (err instanceof BridgeError) return err;
  const e = err as { code?: string; message?: string; name?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  const uri = redactUri(ctx.uri);
  const details = { afCode: null, status: null, uri, cause: code || e?.name || 'error' };
  if (e?.name === 'CanceledError' || e?.name === 'AbortError' || code === 'ERR_CANCELED' || code === 'ABORT_ERR') {
    return new BridgeError('API_NETWORK', `request to ${uri} was aborted`, { retryable: false, details: { ...details, aborted: true } });
  }
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || /timeout/i.test(e?.message ?? '')) {
    return new BridgeError('API_TIMEOUT', `request to ${uri} timed out (${code || 'timeout'}); retried with backoff, check network and proxy`, {
      retryable: true,
      details,
    });
  }
  if (TLS_CODES.test(code)) {
    return new BridgeError('API_NETWORK', `TLS verification failed for ${uri} (${code}); set tls.caFile to the CA that signs it (corporate proxy?)`, {
      retryable: false,
      details,
    });
  }
  return new BridgeError('API_NETWORK', `network error on ${uri} (${code || oneLine(e?.message ?? 'unknown', 120)}); retried with backoff, check network and proxy`, {
    retryable: true,
    details,
  });
}
