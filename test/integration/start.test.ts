/**
 * `npm start` as a newcomer runs it: the dev server with its Web UI, the embedded PGlite database shared by
 * the worker and the CLI, a worker, the hourly cleanup schedule; then Ctrl-C stops it all cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../client/exitCodes';
import { embeddedUrlFile } from '../../db/embedded';
import { freePort } from '../../workers/devServer';
import { CLEANUP_SCHEDULE_ID } from '../../domain/ids';
import { buildAppImage, removeImages } from '../support/appImage';
import { runCli } from '../support/cli';
import { ensureDockerd } from '../support/dockerd';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const suffix = `${process.pid}`;
const image = `fraisier-start-${suffix}`;
const project = `fraisier-start-${suffix}`;

let dir: string;
let child: ChildProcess;
let output = '';
let exited: Promise<string>;
let env: Record<string, string>;
let temporalPort: number;
let uiPort: number;
let appPort: number;

function waitFor(text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (output.includes(text)) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs || child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`"${text}" did not appear within ${timeoutMs} ms; output so far:\n${output}`));
      }
    }, 200);
  });
}

beforeAll(async () => {
  await ensureDockerd();
  dir = await mkdtemp(join(tmpdir(), 'fraisier-start-'));
  [temporalPort, uiPort, appPort] = await Promise.all([freePort(), freePort(), freePort()]);
  await buildAppImage(`${image}:v1`, { body: 'v1', port: appPort });
  await buildAppImage(`${image}:bad`, { body: 'bad', port: appPort, healthcheck: true, healthPath: '/missing' });
  await writeFile(join(dir, 'docker-compose.yml'), `services:\n  app:\n    image: "${image}:\${VERSION:-v1}"\n    network_mode: host\n`);
  await writeFile(
    join(dir, 'fraises.yaml'),
    `fraises:\n  app:\n    providers:\n      dev:\n        provider: docker_compose\n        health_check: { type: http, port: ${appPort}, timeout: 10s, interval: 1s }\n        config: { compose_file: docker-compose.yml, service_name: app, project_name: ${project}, pull: never }\n`,
  );
  const base = { ...(process.env as Record<string, string>) };
  delete base.TEMPORAL_ADDRESS;
  delete base.DATABASE_URL;
  env = {
    ...base,
    FRAISIER_DATA_DIR: join(dir, 'data'),
    FRAISIER_PGLITE_DIR: join(dir, 'data', 'pglite'),
    FRAISIER_TEMPORAL_PORT: String(temporalPort),
    FRAISIER_UI_PORT: String(uiPort),
    FRAISIER_TASK_QUEUE: `start-${suffix}`,
    FRAISIER_WEBHOOK_PORT: '0',
  };
  // In its own process group, so that SIGINT reaches npm and everything under it, as Ctrl-C does.
  child = spawn('npm', ['start'], { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
  await waitFor('ready. Ctrl-C stops everything.', 120_000);
});

afterAll(async () => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  await execa('docker-compose', ['-f', join(dir, 'docker-compose.yml'), '-p', project, 'down'], { reject: false });
  await removeImages([`${image}:v1`, `${image}:bad`]);
  await rm(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves the Web UI and says where it is', async () => {
    const uiUrl = `http://127.0.0.1:${uiPort}/namespaces/default/workflows`;
    expect(output).toContain(`Temporal Web UI: ${uiUrl}`);
    expect((await fetch(uiUrl)).status).toBe(200);
  });

  it("serves Coolify's webhook receiver, its secret kept in the data directory", async () => {
    const url = /Coolify webhook URL \(Notifications > Webhook in Coolify\): (http:\/\/127\.0\.0\.1:\d+\/webhooks\/coolify\/[0-9a-f]{48})/.exec(output)?.[1];
    expect(url, output).toBeDefined();
    expect((await readFile(join(dir, 'data', 'webhook-secret'), 'utf8')).trim()).toBe(url?.split('/').at(-1));
    // A notification of a deployment nobody waits on is accepted (Coolify retries anything else); a wrong secret is not found.
    const ok = await fetch(url ?? '', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'deployment_success', deployment_uuid: 'abcdefghijklmnopqrstuvwx' }) });
    expect(ok.status).toBe(202);
    const wrong = await fetch(url?.replace(/[0-9a-f]{48}$/, 'x'.repeat(48)) ?? '', { method: 'POST', body: '{}' });
    expect(wrong.status).toBe(404);
    const big = await fetch(url ?? '', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70_000) }).catch(() => undefined);
    if (big) expect(big.status).toBe(413);
  });

  it('runs a deploy from the CLI, records it in the embedded database the CLI reads too', async () => {
    const cliEnv = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, FRAISIER_UI_URL: `http://127.0.0.1:${uiPort}` };
    const deployed = await runCli(['deploy', 'app', 'dev', '--version', 'v1', '--config', join(dir, 'fraises.yaml')], cliEnv);
    expect(deployed.code, deployed.stderr).toBe(EXIT.ok);
    expect(deployed.stdout).toContain(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/docker_compose%3Aapp%3Adev/`);
    const history = await runCli(['history', 'app', '--json'], cliEnv);
    expect(history.code, history.stderr).toBe(EXIT.ok);
    expect(history.json<Array<{ version: string; status: string }>>()).toEqual([expect.objectContaining({ version: 'v1', status: 'succeeded' })]);
  });

  it('a deploy that fails as designed is one line in the worker\'s log, without a stack trace', async () => {
    const cliEnv = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` };
    const failed = await runCli(['deploy', 'app', 'dev', '--version', 'bad', '--config', join(dir, 'fraises.yaml')], cliEnv);
    expect(failed.code, failed.stderr).toBe(EXIT.failed);
    await waitFor('Workflow failed: deploy docker_compose:app:dev', 10_000);
    const line = output.split('\n').find((l) => l.includes('Workflow failed: deploy docker_compose:app:dev'));
    expect(line).toMatch(/\[WARN\] Workflow failed: deploy docker_compose:app:dev: deploy of bad to app\/dev \(docker_compose\) failed: .*rolled back automatically to v1$/);
    expect(output).not.toMatch(/^\s+at .*workflows\/deploy\.ts/m);
  });

  it('has created the hourly cleanup schedule, overlap SKIP', async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    try {
      const schedule = await new Client({ connection }).schedule.getHandle(CLEANUP_SCHEDULE_ID).describe();
      expect(schedule.policies.overlap).toBe('SKIP');
      expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);
      expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cleanup' });
    } finally {
      await connection.close();
    }
  });

  it('stops everything cleanly on Ctrl-C', async () => {
    const urlFile = embeddedUrlFile(join(dir, 'data', 'pglite'));
    expect(existsSync(urlFile)).toBe(true);
    process.kill(-(child.pid as number), 'SIGINT');
    const end = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
    // npm itself ends by the SIGINT it got, as it does on Ctrl-C; fraisier under it must have ended cleanly.
    expect(['exit 0', 'SIGINT'], output).toContain(end);
    expect(output).toContain('SIGINT: draining the worker');
    expect(output).not.toContain('cannot start');
    expect(output).toContain('stopped Temporal dev server');
    expect(output).toContain('stopped embedded database');
    expect(existsSync(urlFile)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${uiPort}/`)).rejects.toThrow();
  });
});
