/**
 * The Docker Compose provider against a real Docker engine, with the docker-compose v1 binary and,
 * when installed, the v2 plugin. Images are built locally from the static busybox; nothing is pulled.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner, CommandSpec } from '../../activities/commandRunner';
import type { Provider, ProviderContext } from '../../activities/providers/contract';
import type { DockerComposeConfig } from '../../config/providers/docker_compose';
import { absolutePaths, findProvider } from '../../config/providers/index';
import type { DeployStarted, Readiness } from '../../domain/release';
import type { Target } from '../../domain/target';
import { Agent } from 'undici';
import { memoryState, providerContext } from '../support/providerContext';
import { createDockerComposeProvider } from '../../activities/providers/docker_compose/index';
import { createCommandRunner } from '../../activities/runner';
import { buildAppImage, removeImages } from '../support/appImage';
import { ensureDockerd } from '../support/dockerd';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function get(port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/`, { reset: true, headersTimeout: 5000, bodyTimeout: 5000 });
  return (await res.body.text()).trim();
}

/** Polls until the body served on `port` is `want` (the container may still be starting). */
async function bodyBecomes(port: number, want: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = await get(port);
      if (last === want) return last;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return last;
}

async function settle(provider: Provider<DockerComposeConfig>, ctx: ProviderContext<DockerComposeConfig>, started: DeployStarted, ms = 60_000): Promise<Readiness> {
  const deadline = Date.now() + ms;
  let r: Readiness = { state: 'pending', detail: 'not probed' };
  while (Date.now() < deadline) {
    r = await provider.readiness(ctx, started);
    if (r.state !== 'pending') return r;
    await new Promise((res) => setTimeout(res, 500));
  }
  return r;
}

const v2 = await execa('docker', ['compose', 'version'], { reject: false });
const v2Available = v2.exitCode === 0 && /compose/i.test(v2.stdout);
const v2Reason = v2Available ? '' : ` — skipped: the docker compose v2 plugin is not installed (${(v2.stderr || v2.stdout).split('\n')[0]})`;

if (!v2Available) console.warn(`docker_compose integration: v2 variant${v2Reason}`);

const variants = [
  { kind: 'v1' as const, skip: false, title: 'docker_compose provider with docker-compose v1' },
  { kind: 'v2' as const, skip: !v2Available, title: `docker_compose provider with the docker compose v2 plugin${v2Reason}` },
];

for (const variant of variants) {
  describe.skipIf(variant.skip)(variant.title, () => {
    const kind = variant.kind;
    const repo = `fraisier-it-${kind}`;
    const project = `fraisier-it-${kind}`;
    const images = [`${repo}:v1`, `${repo}:v1-keep`, `${repo}:v2`, `${repo}:broken`, `${repo}:t1`, `${repo}:t2`];
    let dir = '';
    let port = 0;
    let tagPort = 0;
    const calls: CommandSpec[] = [];
    const messages: string[] = [];
    let provider: Provider<DockerComposeConfig>;
    let ctx: ProviderContext<DockerComposeConfig>;
    let run: CommandRunner;
    const state = memoryState();
    /** The target as the CLI resolves it: paths absolute against the directory of fraises.yaml. */
    const targetFor = (t: Target): Target => {
      const entry = findProvider('docker_compose');
      if (!entry) throw new Error('no docker_compose entry');
      return { ...t, config: absolutePaths(entry, t.config, dir) };
    };
    let v1: DeployStarted;
    let v1Id = '';
    const timings: Record<string, number> = {};

    beforeAll(async () => {
      await ensureDockerd();
      port = await freePort();
      tagPort = await freePort();
      dir = await fs.mkdtemp(path.join(os.tmpdir(), `fraisier-compose-${kind}-`));
      const t0 = Date.now();
      v1Id = await buildAppImage(`${repo}:v1`, { healthcheck: true, body: 'release v1', port });
      await execa('docker', ['tag', `${repo}:v1`, `${repo}:v1-keep`]);
      await buildAppImage(`${repo}:v2`, { healthcheck: true, body: 'release v2', port });
      await buildAppImage(`${repo}:broken`, { healthcheck: true, body: 'broken', port, healthPath: '/missing' });
      await buildAppImage(`${repo}:t1`, { body: 'tag one', port: tagPort });
      await buildAppImage(`${repo}:t2`, { body: 'tag two', port: tagPort });
      timings.buildImages = Date.now() - t0;
      await fs.writeFile(
        path.join(dir, 'docker-compose.yml'),
        [
          '# integration test project: only "web" is deployed',
          'services:',
          '  web:',
          `    image: ${repo}:\${VERSION}   # version comes from .env`,
          '    network_mode: host',
          '    depends_on: [sidecar]',
          '  sidecar:',
          '    # never started: up --no-deps must leave it alone (its image does not exist)',
          `    image: ${repo}-sidecar:absent`,
          '    network_mode: host',
          '',
        ].join('\n'),
      );
      await fs.writeFile(path.join(dir, '.env'), '# settings\nOTHER=keep me\nVERSION=v0\n');
      await fs.mkdir(path.join(dir, 'tagmode'));
      await fs.writeFile(
        path.join(dir, 'tagmode', 'compose.yaml'),
        `services:\n  app:\n    image: "${repo}:t0"  # rewritten by fraisier\n    network_mode: host\n`,
      );
      const runner = createCommandRunner();
      run = (spec, opts) => {
        calls.push(spec);
        return runner(spec, opts);
      };
      provider = createDockerComposeProvider({ run, http: new Agent(), env: process.env }, { cli: kind });
      const target: Target = {
        fraise: 'web',
        environment: 'it',
        provider: 'docker_compose',
        config: { compose_file: 'docker-compose.yml', service_name: 'web', project_name: project, pull: 'auto' },
        healthCheck: { type: 'http', host: '127.0.0.1', port, path: '/', expectedStatus: 200, timeoutSeconds: 30, intervalSeconds: 1 },
        retain: 3,
      };
      ctx = providerContext<DockerComposeConfig>(targetFor(target), run, { log: (m) => messages.push(m), state });
    });

    afterAll(async () => {
      if (dir) {
        for (const p of [project, `${project}-tag`]) {
          const ids = await execa('docker', ['container', 'ls', '-a', '-q', '--filter', `label=com.docker.compose.project=${p}`], { reject: false });
          const list = ids.stdout.split('\n').filter(Boolean);
          if (list.length > 0) await execa('docker', ['container', 'rm', '-f', ...list], { reject: false });
        }
        await fs.rm(dir, { recursive: true, force: true });
      }
      await removeImages(images);
      console.log(`[${kind}] timings (ms): ${JSON.stringify(timings)}`);
    });

    it('preflight passes', async () => {
      const report = await provider.preflight(ctx);
      expect(report.checks.map((c) => c.name)).toEqual(['config', 'compose-cli', 'docker-engine', 'compose-file', 'version-file']);
      expect(report.ok, JSON.stringify(report.checks)).toBe(true);
    });

    it('deploys v1: ready, healthy, body served', async () => {
      const t0 = Date.now();
      v1 = await provider.deploy(ctx, 'v1');
      const r = await settle(provider, ctx, v1);
      timings.deployV1UntilReady = Date.now() - t0;
      expect(r.state, r.detail).toBe('ready');
      expect(v1.release).toEqual({ version: 'v1', artifact: { image: `${repo}:v1`, imageId: v1Id } });
      expect(state.current()).toEqual({ project, images: [`${repo}:v1`] });
      expect(messages.join('\n')).toMatch(/carrying on with the local image/);
      const health = await provider.health(ctx);
      expect(health).toMatchObject({ ok: true, source: 'container' });
      expect(await bodyBecomes(port, 'release v1')).toBe('release v1');
      expect(await provider.status(ctx)).toMatchObject({ state: 'running', version: 'v1' });
      // The env file keeps its other lines and was backed up first.
      expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe('# settings\nOTHER=keep me\nVERSION=v1\n');
      const backups = await fs.readdir(path.join(dir, '.fraisier', 'backups'));
      expect(backups.some((b) => b.startsWith('.env.'))).toBe(true);
      // --no-deps: the sidecar was never created.
      const sidecar = await execa('docker', ['container', 'ls', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=sidecar']);
      expect(sidecar.stdout.trim()).toBe('');
    });

    it('deploys v2', async () => {
      const t0 = Date.now();
      const v2started = await provider.deploy(ctx, 'v2');
      const r = await settle(provider, ctx, v2started);
      timings.deployV2UntilReady = Date.now() - t0;
      expect(r.state, r.detail).toBe('ready');
      expect(await bodyBecomes(port, 'release v2')).toBe('release v2');
      expect(await provider.status(ctx)).toMatchObject({ state: 'running', version: 'v2' });
    });

    it('rolls back to v1 from its ReleaseData, re-tagging the image id, without build or pull', async () => {
      // The v1 tag disappears; the image survives under another tag, so only its id still leads to it.
      await execa('docker', ['image', 'rm', `${repo}:v1`]);
      const from = calls.length;
      const t0 = Date.now();
      const back = await provider.rollback(ctx, v1.release);
      const r = await settle(provider, ctx, back);
      timings.rollbackUntilReady = Date.now() - t0;
      expect(r.state, r.detail).toBe('ready');
      const argvs = calls.slice(from).map((c) => c.argv.join(' '));
      expect(argvs.some((a) => / (pull|build)( |$)/.test(a)), argvs.join('\n')).toBe(false);
      expect(argvs).toContain(`docker tag ${v1Id} ${repo}:v1`);
      expect(back.release.artifact.imageId).toBe(v1Id);
      expect(await bodyBecomes(port, 'release v1')).toBe('release v1');
    });

    it('returns a non-empty log tail', async () => {
      await get(port);
      const logs = await provider.logs(ctx, 20);
      expect(logs.trim().length).toBeGreaterThan(0);
      expect(logs.split('\n').length).toBeLessThanOrEqual(22);
    });

    it('reports a release whose HEALTHCHECK fails as failed and unhealthy', async () => {
      const started = await provider.deploy(ctx, 'broken');
      const r = await settle(provider, ctx, started);
      expect(r.state).toBe('failed');
      expect(r.detail).toMatch(/unhealthy/);
      const health = await provider.health(ctx);
      expect(health).toMatchObject({ ok: false, source: 'container' });
      expect(await provider.status(ctx)).toMatchObject({ state: 'unhealthy', version: 'broken' });
    });

    it('prune refuses to remove an image a container still uses, and says so', async () => {
      const keep = [v1.release];
      const report = await provider.prune(ctx, keep);
      // broken runs now: Docker refuses without force, and fraisier never forces.
      expect(report.removed).toEqual([`${repo}:v2`]);
      expect(report.detail).toMatch(new RegExp(`${repo}:broken: .*(conflict|in use|being used|is using)`));
      expect(calls.some((c) => c.argv.includes('rm') && c.argv.includes('-f') && c.argv.includes('image'))).toBe(false);
    });

    it('stops, removes, and removes again', async () => {
      await provider.stop(ctx);
      expect((await provider.status(ctx)).state).toBe('stopped');
      await provider.remove(ctx);
      expect((await provider.status(ctx)).state).toBe('absent');
      await provider.remove(ctx);
      expect((await provider.status(ctx)).state).toBe('absent');
    });

    it('prune then removes the images of releases no longer recorded, and keeps the recorded ones', async () => {
      const report = await provider.prune(ctx, [v1.release]);
      expect(report.removed).toEqual([`${repo}:broken`]);
      expect((await execa('docker', ['image', 'inspect', `${repo}:broken`], { reject: false })).exitCode).not.toBe(0);
      expect((await execa('docker', ['image', 'inspect', `${repo}:v1`], { reject: false })).exitCode).toBe(0);
      expect(state.current()).toEqual({ project, images: [`${repo}:v1`] });
    });

    it('rewrites the image tag when the image uses no variable (pull: never)', async () => {
      const tctx = providerContext<DockerComposeConfig>(
        targetFor({
          ...ctx.target,
          fraise: 'tagged',
          config: { compose_file: 'tagmode/compose.yaml', service_name: 'app', project_name: `${project}-tag`, pull: 'never' },
          healthCheck: { type: 'tcp', host: '127.0.0.1', port: tagPort, timeoutSeconds: 10, intervalSeconds: 1 },
        }),
        run,
        { log: (m) => messages.push(m) },
      );
      const from = calls.length;
      const one = await provider.deploy(tctx, 't1');
      expect((await settle(provider, tctx, one)).state).toBe('ready');
      const two = await provider.deploy(tctx, 't2');
      expect((await settle(provider, tctx, two)).state).toBe('ready');
      expect(await bodyBecomes(tagPort, 'tag two')).toBe('tag two');
      expect(await fs.readFile(path.join(dir, 'tagmode', 'compose.yaml'), 'utf8')).toBe(
        `services:\n  app:\n    image: "${repo}:t2"  # rewritten by fraisier\n    network_mode: host\n`,
      );
      const health = await provider.health(tctx);
      expect(health).toMatchObject({ ok: true, source: 'tcp' });
      expect(calls.slice(from).some((c) => c.argv.includes('pull'))).toBe(false);
      await provider.remove(tctx);
      expect((await provider.status(tctx)).state).toBe('absent');
    });
  });
}
