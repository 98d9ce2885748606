/**
 * URL rules of the client. The bearer token goes only to the configured API origin: a
 * `NextPageUri` or `contentUri` pointing anywhere else (host, port or scheme) is refused before
 * any request is made.
 */
import { BridgeError, redactUri } from '../../../errors';
import { parseApiTime } from './window';

export function apiOrigin(apiRoot: string): string {
  return new URL(apiRoot).origin;
}

/** Throws FOREIGN_HOST unless `uri` is an absolute URL on `origin` without userinfo. */
export function assertApiOrigin(uri: string, origin: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new BridgeError('FOREIGN_HOST', `refusing ${what}: not an absolute URL (${redactUri(uri)})`, {
      retryable: false,
      details: { uri: redactUri(uri), expectedOrigin: origin },
    });
  }
  if (u.origin !== origin || u.username || u.password) {
    throw new BridgeError('FOREIGN_HOST', `refusing ${what} to ${redactUri(u.origin)}: the token goes only to ${origin}; check apiUrl or report the API response`, {
      retryable: false,
      details: { uri: redactUri(uri), expectedOrigin: origin, foreignOrigin: u.origin },
    });
  }
  return u;
}

/** Adds `PublisherIdentifier` unless the URL already carries it (any case). */
export function withPublisher(u: URL, publisherId: string): URL {
  for (const k of u.searchParams.keys()) if (k.toLowerCase() === 'publisheridentifier') return u;
  u.searchParams.set('PublisherIdentifier', publisherId);
  return u;
}

/** `{apiRoot}/api/v1.0/{tenant}/activity/feed/{op}?query`. */
export function operationUrl(apiRoot: string, tenantId: string, op: string, query: Record<string, string> = {}): URL {
  const u = new URL(`${apiRoot.replace(/\/+$/, '')}/api/v1.0/${encodeURIComponent(tenantId)}/activity/feed/${op}`);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u;
}

/** The start time a (next-page) listing URL asks for; the query may spell it `starttime`. */
export function listingStart(uri: string): number | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return undefined;
  }
  for (const [k, v] of u.searchParams) if (k.toLowerCase() === 'starttime') return parseApiTime(v);
  return undefined;
}
