/**
 * Guards a blob body stream: a size cap enforced while streaming (never buffered without bound),
 * a cheap check that the body starts as a JSON array, a deadline on the body (a server that stalls
 * or trickles after the headers: API_TIMEOUT, fetched again), and truncation / resets surfaced as
 * stream errors that name the (redacted) URI.
 */
import { Transform, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { BridgeError, redactUri } from '../../../errors';
import { watchBody } from '../../../net/http';

export interface BlobGuardOptions {
  uri: string;
  maxBytes: number;
  /** Content-Length of the response (bytes on the wire), when sent. */
  expectedBytes?: number;
  /** Content-Encoding of the response; gzip/deflate/br are decoded here (the size cap counts decoded bytes). */
  encoding?: string;
  signal?: AbortSignal;
  /** Fewer than 1 KiB in this long while we wait for the body: stalled (API_TIMEOUT). Off when unset. */
  idleMs?: number;
  /** Longest the body may take, counting only the time we wait for it. Default 10 × idleMs. */
  totalMs?: number;
}

export function tooLarge(uri: string, maxBytes: number, seen: number | string): BridgeError {
  return new BridgeError('BLOB_TOO_LARGE', `blob ${redactUri(uri)} exceeds the ${maxBytes}-byte limit (${seen}); raise http.maxBlobMB if this tenant needs it`, {
    retryable: false,
    details: { uri: redactUri(uri), maxBytes },
  });
}

function decoderFor(encoding: string | undefined): Transform | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

export function guardBlobStream(raw: Readable, opts: BlobGuardOptions): Readable {
  const uri = redactUri(opts.uri);
  let bytes = 0;
  let wireBytes = 0;
  const decoder = decoderFor(opts.encoding);
  const source: Readable = decoder ?? raw;
  if (decoder) raw.on('data', (c: Buffer) => (wireBytes += c.length));
  let sawFirst = false;
  let failed = false;

  const malformed = (why: string) =>
    new BridgeError('BLOB_MALFORMED', `blob ${uri} ${why}; it will be fetched again`, { retryable: true, details: { uri, bytes: wireBytes, expectedBytes: opts.expectedBytes ?? null } });

  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (!decoder) wireBytes = bytes;
      if (bytes > opts.maxBytes) return cb(tooLarge(opts.uri, opts.maxBytes, `${bytes}+ bytes`));
      if (!sawFirst) {
        // A blob is a JSON array: anything else (an HTML error page from a proxy...) is refused early.
        for (let i = 0; i < chunk.length; i++) {
          const c = chunk[i];
          if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xef || c === 0xbb || c === 0xbf) continue;
          sawFirst = true;
          if (c !== 0x5b /* [ */) return cb(malformed('is not a JSON array'));
          break;
        }
      }
      cb(null, chunk);
    },
    flush(cb) {
      if (opts.expectedBytes !== undefined && wireBytes < opts.expectedBytes) return cb(malformed(`was truncated (${wireBytes} of ${opts.expectedBytes} bytes)`));
      if (!sawFirst) return cb(malformed('is empty'));
      cb();
    },
  });

  const fail = (err: BridgeError) => {
    if (failed) return;
    failed = true;
    out.destroy(err);
  };
  const onSourceError = (err: unknown) => {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ETIMEDOUT') {
      return fail(new BridgeError('API_TIMEOUT', `blob ${uri} timed out (${String(e.message).replace(/^timeout: (blob: )?/, '')}) after ${wireBytes} bytes; it will be fetched again`, {
        retryable: true,
        details: { uri, bytes: wireBytes, cause: 'ETIMEDOUT' },
      }));
    }
    if (opts.expectedBytes !== undefined && wireBytes < opts.expectedBytes) {
      fail(malformed(`was truncated (${wireBytes} of ${opts.expectedBytes} bytes, ${e.code ?? 'closed'})`));
    } else if (decoder && e.code?.startsWith('Z_')) {
      fail(malformed(`is not valid ${opts.encoding} data (${e.code})`));
    } else {
      fail(new BridgeError('API_NETWORK', `blob ${uri} download failed after ${bytes} bytes (${e.code ?? 'connection closed'}); it will be fetched again`, {
        retryable: true,
        details: { uri, bytes, cause: e.code ?? null },
      }));
    }
  };
  const onAbort = () => fail(new BridgeError('API_NETWORK', `blob ${uri} download aborted`, { retryable: false, details: { uri, aborted: true } }));

  raw.on('error', onSourceError);
  // Without 'error', an early close means the server cut the body short.
  raw.on('aborted', () => onSourceError({ code: 'ECONNRESET' }));
  if (decoder) {
    decoder.on('error', onSourceError);
    raw.pipe(decoder);
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  out.on('close', () => {
    opts.signal?.removeEventListener('abort', onAbort);
    // The consumer stopped early or we failed: free the socket.
    if (!raw.destroyed) raw.destroy();
    if (decoder && !decoder.destroyed) decoder.destroy();
  });
  if (opts.signal?.aborted) onAbort();
  if (opts.idleMs && opts.idleMs > 0) {
    watchBody(raw, {
      idleMs: opts.idleMs,
      totalMs: opts.totalMs ?? opts.idleMs * 10,
      what: 'blob',
      bytes: () => (decoder ? wireBytes : bytes),
      // Reported before the socket is torn down (which would read as a reset).
      onTimeout: onSourceError,
    });
  }
  source.pipe(out);
  return out;
}
