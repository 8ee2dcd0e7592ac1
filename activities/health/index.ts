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

/** One GET; ok when the status is the expected one. Redirects are not followed. */
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
    // Read (and drop) the body so the socket is released; a health body is small.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    const ms = Date.now() - started;
    const ok = res.statusCode === check.expectedStatus;
    return {
      ok,
      detail: `GET ${url}: status ${res.statusCode}, expected ${check.expectedStatus} (${ms} ms)`,
    };
  } catch (err) {
    if (timer.aborted) {
      return { ok: false, detail: `GET ${url}: no answer within ${timeoutMs} ms (expected status ${check.expectedStatus})` };
    }
    return { ok: false, detail: `GET ${url}: ${errorText(err)} (expected status ${check.expectedStatus})` };
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

/** One probe of a configured health check. */
export async function probeHealth(check: HealthCheckConfig, options: ProbeOptions = {}): Promise<HealthReport> {
  if (check.type === 'http') {
    const r = await probeHttp(check, options);
    return { ...r, source: 'http' };
  }
  const r = await probeTcp(check, options);
  return { ...r, source: 'tcp' };
}
