/** Plain-HTTP helpers for the emulator's contract tests (no product code involved). */
import * as https from 'node:https';
import type { Emulator, ResolvedTenant } from '../../src/emulator';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** A fixed instant a few minutes past an hour, so slot arithmetic in tests is easy to follow. */
export const T0 = Date.UTC(2025, 2, 10, 12, 7, 30);

export interface Clock {
  now: number;
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function req(url: string, init: RequestInit = {}): Promise<Res> {
  const r = await fetch(url, init);
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

export function tokenForm(t: ResolvedTenant, scope: string, extra: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({ grant_type: 'client_credentials', client_id: t.clientId, client_secret: t.clientSecret, scope, ...extra });
}

export async function token(em: Emulator, t: ResolvedTenant = em.tenants[0]): Promise<string> {
  const r = await req(`${em.url}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: tokenForm(t, em.scope) });
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}

/** An API caller bound to one tenant and token. */
export function api(em: Emulator, tok: string, t: ResolvedTenant = em.tenants[0]) {
  const base = `${em.url}/api/v1.0/${t.tenantId}/activity/feed`;
  const h = { Authorization: `Bearer ${tok}` };
  return {
    base,
    get: (path: string) => req(path.startsWith('http') ? path : `${base}/${path}`, { headers: h }),
    post: (path: string, body?: string) => req(`${base}/${path}`, { method: 'POST', headers: h, body }),
    start: (ct: string) => req(`${base}/subscriptions/start?contentType=${ct}`, { method: 'POST', headers: h }),
    list: (ct: string, start?: string, end?: string) =>
      req(`${base}/subscriptions/content?contentType=${ct}${start !== undefined ? `&startTime=${start}` : ''}${end !== undefined ? `&endTime=${end}` : ''}`, { headers: h }),
  };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** GET over HTTPS trusting only the given CA (fetch in Node 20 cannot take a CA). */
export function httpsGet(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = https.get(url, { ca, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
  });
}

export function httpsPost(url: string, ca: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const r = https.request(
      { hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', ca, agent: false, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}
