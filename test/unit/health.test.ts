/** The generic probes against real servers on 127.0.0.1 (random ports). */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCheckUrl, probeHealth, probeHttp, probeTcp, type HttpHealthCheck } from '../../activities/health/index';

let server: http.Server;
let tcp: net.Server;
let silent: net.Server;
let httpPort = 0;
let tcpPort = 0;
let silentPort = 0;
let closedPort = 0;
const silentSockets = new Set<net.Socket>();

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(200).end('ok');
    if (req.url === '/down') return void res.writeHead(503).end('down');
    if (req.url === '/redirect') return void res.writeHead(302, { location: '/health' }).end();
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 3000);
    if (req.url === '/v1') return void res.writeHead(200).end('{"status":"ok v1"}');
    if (req.url === '/v2') return void res.writeHead(200).end('{"status":"ok v2"}');
    // 200 KiB of filler, then the marker: beyond what a probe reads.
    if (req.url === '/huge') return void res.writeHead(200).end(`${'x'.repeat(200 * 1024)}MARKER`);
    res.writeHead(404).end();
  });
  httpPort = await listen(server);
  tcp = net.createServer((s) => s.end());
  tcpPort = await listen(tcp);
  // Accepts connections and never answers.
  silent = net.createServer((s) => {
    silentSockets.add(s);
    s.on('close', () => silentSockets.delete(s));
  });
  silentPort = await listen(silent);
  const probe = net.createServer();
  closedPort = await listen(probe);
  await new Promise((r) => probe.close(r));
});

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  server.closeAllConnections();
  await Promise.all([server, tcp, silent].map((s) => new Promise((r) => s.close(r))));
});

const check = (over: Partial<HttpHealthCheck> = {}): HttpHealthCheck => ({
  type: 'http',
  host: '127.0.0.1',
  port: httpPort,
  path: '/health',
  expectedStatus: 200,
  timeoutSeconds: 10,
  intervalSeconds: 1,
  ...over,
});

describe('probeHttp', () => {
  it('builds the URL from host, port and path, or takes url as is', () => {
    expect(httpCheckUrl(check({ port: 8080 }))).toBe('http://127.0.0.1:8080/health');
    expect(httpCheckUrl(check({ host: '::1', port: 80, path: 'x' }))).toBe('http://[::1]:80/x');
    expect(httpCheckUrl(check({ port: undefined }))).toBe('http://127.0.0.1/health');
    expect(httpCheckUrl(check({ url: 'https://example.invalid/h' }))).toBe('https://example.invalid/h');
  });

  it('is ok on the expected status', async () => {
    const r = await probeHttp(check());
    expect(r.ok).toBe(true);
    expect(r.detail).toMatch(new RegExp(`GET http://127\\.0\\.0\\.1:${httpPort}/health: status 200, expected 200`));
  });

  it('reports the status got and the one expected', async () => {
    const r = await probeHttp(check({ path: '/down' }));
    expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/status 503, expected 200/) });
    expect(await probeHttp(check({ path: '/down', expectedStatus: 503 }))).toMatchObject({ ok: true });
    expect(await probeHttp(check({ path: '/redirect' }))).toMatchObject({ ok: false, detail: expect.stringMatching(/status 302/) });
  });

  it('uses url when given', async () => {
    expect(await probeHttp(check({ url: `http://127.0.0.1:${httpPort}/health`, port: 1 }))).toMatchObject({ ok: true });
  });

  it('fails fast on a refused connection', async () => {
    const r = await probeHttp(check({ port: closedPort }));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/ECONNREFUSED/);
  });

  it('is bounded by the per-probe timeout', async () => {
    const t0 = Date.now();
    const r = await probeHttp(check({ path: '/slow' }), { probeTimeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/no answer within 300 ms/) });
    const s = await probeHttp(check({ port: silentPort }), { probeTimeoutMs: 300 });
    expect(s).toMatchObject({ ok: false, detail: expect.stringMatching(/no answer within 300 ms/) });
  });

  it('never waits longer than the check timeout', async () => {
    const t0 = Date.now();
    await probeHttp(check({ path: '/slow', timeoutSeconds: 0.2 }));
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('stops when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const r = await probeHttp(check({ path: '/slow' }), { signal: ac.signal });
    expect(r.ok).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('probeHttp with bodyContains', () => {
  const url = (path: string) => `http://127.0.0.1:${httpPort}${path}`;

  it('keeps the detail of a check without it exactly as it was', async () => {
    const r = await probeHttp(check());
    expect(r.detail).toMatch(new RegExp(`^GET ${url('/health').replace(/\./g, '\\.')}: status 200, expected 200 \\(\\d+ ms\\)$`));
  });

  it('is ok when the status is the expected one and the body contains the text', async () => {
    const r = await probeHttp(check({ path: '/v2', bodyContains: 'ok v2' }));
    expect(r.ok).toBe(true);
    expect(r.detail).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/v2: status 200, body contains "ok v2" \(\d+ ms\)$/);
  });

  it('is not ok when the body does not contain it, and says so with the start of the body', async () => {
    const r = await probeHttp(check({ path: '/v1', bodyContains: 'ok v2' }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain(`GET ${url('/v1')}: status 200, body does not contain "ok v2", got "{\\"status\\":\\"ok v1\\"}" (`);
  });

  it('is not ok on another status even when the body matches, and says the status failed', async () => {
    const r = await probeHttp(check({ path: '/down', bodyContains: 'down' }));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/status 503, expected 200, body contains "down" \(\d+ ms\)$/);
    const both = await probeHttp(check({ path: '/down', bodyContains: 'up' }));
    expect(both).toMatchObject({ ok: false, detail: expect.stringMatching(/status 503, expected 200, body does not contain "up", got "down"/) });
  });

  it('reads at most 64 KiB of the body and quotes only its start', async () => {
    const r = await probeHttp(check({ path: '/huge', bodyContains: 'MARKER' }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain(`body does not contain "MARKER", got "${'x'.repeat(100)}"...`);
    expect(r.detail.length).toBeLessThan(300);
    expect(await probeHttp(check({ path: '/huge', bodyContains: 'xxxx' }))).toMatchObject({ ok: true });
  });

  it('names the text looked for when there is no answer', async () => {
    const r = await probeHttp(check({ port: closedPort, bodyContains: 'ok v2' }));
    expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/ECONNREFUSED.*\(expected status 200 and a body containing "ok v2"\)$/) });
  });
});

describe('probeTcp', () => {
  it('is ok when the port accepts', async () => {
    const r = await probeTcp({ type: 'tcp', host: '127.0.0.1', port: tcpPort, timeoutSeconds: 5, intervalSeconds: 1 });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatch(new RegExp(`TCP 127\\.0\\.0\\.1:${tcpPort}: connected`));
  });

  it('reports a refused connection', async () => {
    const r = await probeTcp({ type: 'tcp', host: '127.0.0.1', port: closedPort, timeoutSeconds: 5, intervalSeconds: 1 });
    expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('times out on an unroutable address', async () => {
    // 192.0.2.0/24 is reserved for documentation: packets go nowhere (or the route is refused at once).
    const t0 = Date.now();
    const r = await probeTcp({ type: 'tcp', host: '192.0.2.1', port: 9, timeoutSeconds: 5, intervalSeconds: 1 }, { probeTimeoutMs: 300 });
    expect(r.ok).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('probeHealth', () => {
  it('labels the report with the check type', async () => {
    expect(await probeHealth(check())).toMatchObject({ ok: true, source: 'http' });
    expect(await probeHealth({ type: 'tcp', host: '127.0.0.1', port: tcpPort, timeoutSeconds: 5, intervalSeconds: 1 })).toMatchObject({
      ok: true,
      source: 'tcp',
    });
    expect(await probeHealth({ type: 'tcp', host: '127.0.0.1', port: closedPort, timeoutSeconds: 5, intervalSeconds: 1 })).toMatchObject({
      ok: false,
      source: 'tcp',
    });
  });

  it('refuses a from: server check: only the provider can probe from the server', async () => {
    await expect(probeHealth(check({ from: 'server' }))).rejects.toThrow(/from: server.*only the provider can probe from the server/);
    await expect(
      probeHealth({ type: 'tcp', host: '127.0.0.1', port: tcpPort, from: 'server', timeoutSeconds: 5, intervalSeconds: 1 }),
    ).rejects.toThrow(/"from: server" tcp check/);
  });
});
