/**
 * Every error that can reach a user carries a stable `code` (callers branch on it, never on text),
 * a handling class (`retryable`), and a one-line message that says what to do. Messages never
 * contain secrets, client assertions or bearer tokens: build them from ids and URIs only
 * (see `redact` for URIs that might carry credentials in a query).
 */
export type ErrorCode =
  // configuration
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'SECRET_UNREADABLE'
  // authentication
  | 'AUTH_FAILED'
  | 'AUTH_UNAVAILABLE'
  // Management Activity API
  | 'API_THROTTLED'
  | 'API_FORBIDDEN'
  | 'API_BAD_WINDOW'
  | 'API_BAD_REQUEST'
  | 'API_NOT_SUBSCRIBED'
  | 'API_SUBSCRIPTION_DISABLED'
  | 'API_TENANT'
  | 'API_SERVER'
  | 'API_NETWORK'
  | 'API_TIMEOUT'
  | 'API_UNAUTHORIZED'
  | 'CONTENT_EXPIRED'
  | 'FOREIGN_HOST'
  | 'BLOB_TOO_LARGE'
  | 'BLOB_MALFORMED'
  // delivery
  | 'SINK_UNREACHABLE'
  | 'SINK_ACK_TIMEOUT'
  | 'SINK_AUTH'
  | 'SINK_CLOSED'
  | 'SINK_EVENT_TOO_LARGE'
  // state
  | 'STATE_CORRUPT'
  | 'STATE_UNWRITABLE'
  | 'STATE_LOCKED'
  // input files (validate command)
  | 'INPUT_UNREADABLE'
  | 'INPUT_MALFORMED'
  | 'INTERNAL';

export class BridgeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Extra machine-readable facts (AF code, HTTP status, URI without query...). Never secrets. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'BridgeError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, ...this.details };
  }
}

export function isBridgeError(e: unknown, code?: ErrorCode): e is BridgeError {
  return e instanceof BridgeError && (code === undefined || e.code === code);
}

/** A URI safe to print: no userinfo, and query values replaced except a few harmless keys. */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) {
      if (!/^(contentType|startTime|endTime|starttime|endtime|nextPage|PublisherIdentifier)$/i.test(key)) {
        u.searchParams.set(key, 'REDACTED');
      }
    }
    return u.toString();
  } catch {
    return '<unparseable uri>';
  }
}
