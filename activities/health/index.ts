/**
 * Generic health probes: one probe each, bounded in time, no waiting loops
 * (the workflow waits between probes with durable timers).
 */
import net from 'node:net';
import { request } from 'undici';
import type { HealthReport } from '../../domain/release';
import type { HealthCheckConfig } from '../../domain/target';

export type HttpHealthCheck = Extract<HealthCheckConfig, { type: 'http' }>;
export type TcpHealthCheck = Extract<HealthCheckConfig, { type: 'tcp' }>;

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export interface ProbeOptions {
  /** Upper bound for this one probe; default 5 s, never more than the check's own timeout. */
  probeTimeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/** How much of a response body is read: a health body is small, a huge one is not read to its end. */
const BODY_READ_LIMIT = 64 * 1024;

/** How much of a body (or of the text looked for) a detail quotes. */
const QUOTE_CHARS = 100;

function probeTimeout(checkTimeoutSeconds: number, requested: number | undefined): number {
  const wanted = requested ?? DEFAULT_PROBE_TIMEOUT_MS;
  const ceiling = checkTimeoutSeconds > 0 ? checkTimeoutSeconds * 1000 : wanted;
  return Math.max(1, Math.min(wanted, ceiling));
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The URL an http check probes: its `url`, else `http://{host}:{port}{path}`. */
export function httpCheckUrl(check: HttpHealthCheck): string {
  if (check.url) return check.url;
  const port = check.port !== undefined ? `:${check.port}` : '';
  const path = check.path.startsWith('/') ? check.path : `/${check.path}`;
  return `http://${hostForUrl(check.host)}${port}${path}`;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${code ? `${code} ` : ''}${err.message}${cause}`;
  }
  return String(err);
}

/** The first `limit` bytes of a body as UTF-8 text; the rest is not read (the stream is closed). */
async function readTextCapped(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = limit - size;
    chunks.push(chunk.byteLength > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.byteLength, room);
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `"text"` with escapes, cut to QUOTE_CHARS characters. */
function quoteShort(text: string): string {
  return text.length > QUOTE_CHARS ? `${JSON.stringify(text.slice(0, QUOTE_CHARS))}...` : JSON.stringify(text);
}

/**
 * What an HTTP answer means for a check, wherever the GET ran (the worker here, the server for bare_metal's
 * `from: server`): ok when the status is the expected one and, with `bodyContains`, the body contains it.
 */
export function httpVerdict(check: HttpHealthCheck, statusCode: number, body: string): { ok: boolean; text: string } {
  const statusOk = statusCode === check.expectedStatus;
  const wanted = check.bodyContains;
  if (wanted === undefined) return { ok: statusOk, text: `status ${statusCode}, expected ${check.expectedStatus}` };
  const bodyOk = body.includes(wanted);
  const status = statusOk ? `status ${statusCode}` : `status ${statusCode}, expected ${check.expectedStatus}`;
  const got = body === '' ? 'got an empty body' : `got ${quoteShort(body)}`;
  const bodyText = bodyOk ? `body contains ${quoteShort(wanted)}` : `body does not contain ${quoteShort(wanted)}, ${got}`;
  return { ok: statusOk && bodyOk, text: `${status}, ${bodyText}` };
}

/**
 * One GET; ok when the status is the expected one and, when the check has `bodyContains`, the body (its first
 * 64 KiB) contains that text. Redirects are not followed.
 */
export async function probeHttp(check: HttpHealthCheck, options: ProbeOptions = {}): Promise<ProbeResult> {
  const url = httpCheckUrl(check);
  const timeoutMs = probeTimeout(check.timeoutSeconds, options.probeTimeoutMs);
  const timer = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timer, options.signal]) : timer;
  const started = Date.now();
  try {
    const res = await request(url, {
      method: 'GET',
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      reset: true,
      headers: { 'user-agent': 'fraisier-health-probe' },
    });
    let body = '';
    if (check.bodyContains === undefined) {
      // Read (and drop) the body so the socket is released; a health body is small.
      await res.body.dump({ limit: BODY_READ_LIMIT }).catch(() => undefined);
    } else {
      body = await readTextCapped(res.body, BODY_READ_LIMIT);
    }
    const verdict = httpVerdict(check, res.statusCode, body);
    return { ok: verdict.ok, detail: `GET ${url}: ${verdict.text} (${Date.now() - started} ms)` };
  } catch (err) {
    const expected =
      check.bodyContains === undefined
        ? `expected status ${check.expectedStatus}`
        : `expected status ${check.expectedStatus} and a body containing ${quoteShort(check.bodyContains)}`;
    if (timer.aborted) {
      return { ok: false, detail: `GET ${url}: no answer within ${timeoutMs} ms (${expected})` };
    }
    return { ok: false, detail: `GET ${url}: ${errorText(err)} (${expected})` };
  }
}

/** One TCP connect; ok when the connection is accepted. */
export function probeTcp(check: TcpHealthCheck, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = probeTimeout(check.timeoutSeconds, options.probeTimeoutMs);
  const where = `${hostForUrl(check.host)}:${check.port}`;
  const started = Date.now();
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const socket = net.connect({ host: check.host, port: check.port });
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => finish({ ok: false, detail: `TCP ${where}: probe cancelled` });
    const timer = setTimeout(
      () => finish({ ok: false, detail: `TCP ${where}: no connection within ${timeoutMs} ms` }),
      timeoutMs,
    );
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true, detail: `TCP ${where}: connected (${Date.now() - started} ms)` }));
    socket.once('error', (err) => finish({ ok: false, detail: `TCP ${where}: ${errorText(err)}` }));
  });
}

/** One probe of a configured health check, from this process (the worker). */
export async function probeHealth(check: HealthCheckConfig, options: ProbeOptions = {}): Promise<HealthReport> {
  // A `from: server` check runs on the target's server, which only its provider can reach: probing it from here
  // would test another machine's loopback and could pass for the wrong reason. The config refuses it for the
  // providers that call this, so reaching here is our bug, not bad input.
  if (check.from === 'server') {
    throw new Error(`internal: probeHealth was asked to probe a "from: server" ${check.type} check from the worker; only the provider can probe from the server`);
  }
  if (check.type === 'http') {
    const r = await probeHttp(check, options);
    return { ...r, source: 'http' };
  }
  const r = await probeTcp(check, options);
  return { ...r, source: 'tcp' };
}
