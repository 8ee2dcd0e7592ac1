/**
 * The provider's decisions with a scripted command runner: CLI detection, pull policies, file changes
 * and their undo, readiness/health verdicts from `docker container inspect`, hostile versions.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandResult, CommandRunner, CommandSpec } from '../../activities/commandRunner';
import { ProviderInputError, type ProviderContext } from '../../activities/providers/contract';
import type { DockerComposeConfig } from '../../config/providers/docker_compose';
import type { DeployStarted } from '../../domain/release';
import type { Target } from '../../domain/target';
import { memoryState, providerContext } from '../support/providerContext';
import { createDockerComposeProvider } from '../../activities/providers/docker_compose/index';
import { absolutePaths, findProvider } from '../../config/providers/index';
import { Agent } from 'undici';

/** Versions that must never reach a file or a command. */
const HOSTILE = ['v1;rm -rf /', '-v', '--help', '$(id)', '`id`', 'v1\nVERSION=evil', 'v1 v2', ' v1', '', 'a|b', "v1'", '../etc', 'x'.repeat(129), 'v1\0', '${VERSION}', 'v1:v2'];

const ID1 = `sha256:${'1'.repeat(64)}`;
const ID2 = `sha256:${'2'.repeat(64)}`;
const CID = 'c'.repeat(64);

type Reply = Partial<Omit<CommandResult, 'argv'>> | Error;

/** A runner answering from a script; unknown commands succeed with empty output. */
function scripted(script: (argv: string) => Reply | undefined): { run: CommandRunner; calls: CommandSpec[]; argvs: () => string[] } {
  const calls: CommandSpec[] = [];
  const run: CommandRunner = async (spec) => {
    calls.push(spec);
    const reply = script(spec.argv.join(' ')) ?? {};
    if (reply instanceof Error) throw reply;
    return { argv: spec.argv, exitCode: reply.exitCode ?? 0, stdout: reply.stdout ?? '', stderr: reply.stderr ?? '' };
  };
  return { run, calls, argvs: () => calls.map((c) => c.argv.join(' ')) };
}

interface ContainerShape {
  image?: string;
  imageId?: string;
  status?: string;
  running?: boolean;
  exitCode?: number;
  health?: string;
  log?: string;
}

function container(c: ContainerShape = {}): string {
  return JSON.stringify([
    {
      Id: CID,
      Created: '2026-01-01T00:00:00Z',
      Image: c.imageId ?? ID1,
      Config: { Image: c.image ?? 'shop:v1', Labels: { 'com.docker.compose.service': 'web' } },
      State: {
        Status: c.status ?? 'running',
        Running: c.running ?? true,
        ExitCode: c.exitCode ?? 0,
        Error: '',
        ...(c.health ? { Health: { Status: c.health, FailingStreak: c.health === 'unhealthy' ? 3 : 0, Log: [{ ExitCode: 1, Output: c.log ?? '' }] } } : {}),
      },
    },
  ]);
}

/** Answers of a host where docker-compose v1 exists, the v2 plugin does not, and shop:v1 runs. */
function host(overrides: (argv: string) => Reply | undefined = () => undefined, running: ContainerShape | null = {}) {
  return scripted((argv) => {
    const o = overrides(argv);
    if (o) return o;
    if (argv === 'docker compose version') return { exitCode: 1, stderr: "docker: 'compose' is not a docker command." };
    if (argv === 'docker-compose version') return { stdout: 'docker-compose version 1.29.2, build unknown' };
    if (argv.includes(' ps -a -q ')) return { stdout: running ? `${CID}\n` : '' };
    if (argv.startsWith('docker container inspect')) return { stdout: container(running ?? {}) };
    if (argv.startsWith('docker image inspect')) {
      const ref = argv.split(' ').at(-1) ?? '';
      if (ref === 'shop:v1' || ref === ID1) return { stdout: ID1 };
      if (ref === 'shop:v2' || ref === ID2) return { stdout: ID2 };
      return { exitCode: 1, stderr: `Error: No such image: ${ref}` };
    }
    return undefined;
  });
}

describe('docker_compose provider (scripted runner)', () => {
  let dir: string;
  let messages: string[];
  const COMPOSE = '# stack\nservices:\n  web:\n    image: shop:${VERSION}\n    network_mode: host\n';
  const ENV = '# keep\nOTHER=1\nVERSION=v1\n';

  let state: ReturnType<typeof memoryState>;

  /** The target as the CLI resolves it (paths made absolute against the fraises.yaml directory), in a worker's context. */
  function ctxFor(config: Record<string, unknown> = {}, extra: Partial<Target> = {}): ProviderContext<DockerComposeConfig> {
    const entry = findProvider('docker_compose');
    if (!entry) throw new Error('no docker_compose entry');
    const target: Target = {
      fraise: 'shop',
      environment: 'prod',
      provider: 'docker_compose',
      config: absolutePaths(entry, { compose_file: 'docker-compose.yml', service_name: 'web', project_name: 'shop', ...config }, dir),
      retain: 3,
      ...extra,
    };
    return providerContext<DockerComposeConfig>(target, current, { log: (m) => messages.push(m), state });
  }

  /** The runner the provider under test was built with (providerContext runs commands through it). */
  let current: CommandRunner;
  function provider(run: CommandRunner) {
    current = run;
    return createDockerComposeProvider({ run, http: new Agent(), env: process.env });
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fraisier-dc-'));
    messages = [];
    state = memoryState();
    await fs.writeFile(path.join(dir, 'docker-compose.yml'), COMPOSE);
    await fs.writeFile(path.join(dir, '.env'), ENV);
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('falls back to docker-compose v1, detects once, and passes -f/-p/--env-file', async () => {
    const h = host();
    const p = provider(h.run);
    await p.status(ctxFor());
    await p.status(ctxFor());
    expect(h.argvs().filter((a) => a.endsWith(' version'))).toEqual(['docker compose version', 'docker-compose version']);
    const ps = h.calls.find((c) => c.argv.includes('ps'));
    expect(ps?.argv).toEqual(['docker-compose', '-f', path.join(dir, 'docker-compose.yml'), '-p', 'shop', '--env-file', path.join(dir, '.env'), 'ps', '-a', '-q', 'web']);
    expect(ps?.cwd).toBe(dir);
    // The version variable is pinned to the env file's value.
    expect(ps?.env).toEqual({ VERSION: 'v1' });
  });

  it('says clearly when no compose CLI exists', async () => {
    const h = scripted((argv) => {
      if (argv === 'docker compose version') return { exitCode: 1, stderr: 'unknown command' };
      if (argv === 'docker-compose version') return new Error('could not run `docker-compose version`: spawn docker-compose ENOENT');
      return undefined;
    });
    const p = provider(h.run);
    await expect(p.status(ctxFor())).rejects.toThrow(ProviderInputError);
    await expect(p.status(ctxFor())).rejects.toThrow(/neither `docker compose` \(v2 plugin\) nor `docker-compose` \(v1\).*ENOENT/);
    const report = await p.preflight(ctxFor());
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'compose-cli')?.ok).toBe(false);
  });

  it('sets DOCKER_HOST on every docker and compose command', async () => {
    const h = host();
    const p = provider(h.run);
    await p.deploy(ctxFor({ docker_host: 'tcp://127.0.0.1:2375', pull: 'never' }), 'v2');
    for (const c of h.calls.filter((c) => !c.argv.includes('version'))) expect(c.env?.DOCKER_HOST).toBe('tcp://127.0.0.1:2375');
  });

  it.each(HOSTILE)('refuses the version %j before running or writing anything', async (bad) => {
    const h = host();
    const p = provider(h.run);
    await expect(p.deploy(ctxFor(), bad)).rejects.toThrow(ProviderInputError);
    await expect(p.rollback(ctxFor(), { version: bad, artifact: { image: 'shop:v1', imageId: ID1 } })).rejects.toThrow(ProviderInputError);
    expect(h.calls).toHaveLength(0);
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe(ENV);
    expect(await fs.readFile(path.join(dir, 'docker-compose.yml'), 'utf8')).toBe(COMPOSE);
  });

  it('deploys: writes the env file, pulls, ups only the service, remembers the image', async () => {
    const h = host((argv) => (argv.includes(' pull ') ? { exitCode: 1, stderr: 'no registry' } : undefined));
    const p = provider(h.run);
    const started = await p.deploy(ctxFor(), 'v2');
    expect(started).toEqual({
      version: 'v2',
      release: { version: 'v2', artifact: { image: 'shop:v2', imageId: ID2 } },
    });
    expect(state.current()).toEqual({ project: 'shop', images: ['shop:v2'] });
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe('# keep\nOTHER=1\nVERSION=v2\n');
    const up = h.calls.find((c) => c.argv.includes('up'));
    expect(up?.argv.slice(-4)).toEqual(['up', '-d', '--no-deps', 'web']);
    expect(up?.env).toEqual({ VERSION: 'v2' });
    expect(messages.join('\n')).toMatch(/pull of shop:v2 failed \(no registry\); carrying on with the local image/);
    const backups = await fs.readdir(path.join(dir, '.fraisier', 'backups'));
    expect(backups).toHaveLength(1);
    expect(await fs.readFile(path.join(dir, '.fraisier', 'backups', backups[0] ?? ''), 'utf8')).toBe(ENV);
  });

  it('pull: always fails on a pull failure and puts the env file back', async () => {
    const h = host((argv) => (argv.includes(' pull ') ? { exitCode: 1, stderr: 'denied' } : undefined));
    const p = provider(h.run);
    await expect(p.deploy(ctxFor({ pull: 'always' }), 'v2')).rejects.toThrow(/pulling shop:v2 \(pull: always\) failed.*denied/);
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe(ENV);
    expect(h.argvs().some((a) => a.includes(' up '))).toBe(false);
  });

  it('pull: auto fails when the image is not present locally either', async () => {
    const h = host((argv) => (argv.includes(' pull ') ? { exitCode: 1, stderr: 'not found' } : undefined));
    const p = provider(h.run);
    await expect(p.deploy(ctxFor(), 'v3')).rejects.toThrow(/not present locally/);
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe(ENV);
  });

  it('pull: never does not pull', async () => {
    const h = host();
    const p = provider(h.run);
    await p.deploy(ctxFor({ pull: 'never' }), 'v2');
    expect(h.argvs().some((a) => a.includes(' pull'))).toBe(false);
  });

  it('rewrites the image tag when the image has no variable, and does not pass --env-file', async () => {
    await fs.writeFile(path.join(dir, 'docker-compose.yml'), 'services:\n  web:\n    image: shop:v1 # tag\n    restart: always\n');
    const h = host();
    const p = provider(h.run);
    const started = await p.deploy(ctxFor({ pull: 'never' }), 'v2');
    expect(started.release).toEqual({ version: 'v2', artifact: { image: 'shop:v2', imageId: ID2 } });
    // Remembered for cleanup and pruning: the project and the image this target deployed.
    expect(state.current()).toEqual({ project: 'shop', images: ['shop:v2'] });
    expect(await fs.readFile(path.join(dir, 'docker-compose.yml'), 'utf8')).toBe('services:\n  web:\n    image: shop:v2 # tag\n    restart: always\n');
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe(ENV);
    expect(h.argvs().some((a) => a.includes('--env-file'))).toBe(false);
  });

  it('rolls back without pulling; re-tags the recorded image id when the ref is gone', async () => {
    const h = host(undefined, { image: 'shop:v2', imageId: ID2 });
    const p = provider(h.run);
    const back = await p.rollback(ctxFor(), { version: 'v1', artifact: { image: 'shop:v1', imageId: ID1 } });
    expect(back.release.version).toBe('v1');
    expect(h.argvs().some((a) => / pull( |$)| build /.test(a))).toBe(false);
    expect(h.argvs().some((a) => a.startsWith('docker tag'))).toBe(false); // shop:v1 still points at ID1
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe(ENV);
  });

  it('rollback re-tags when the ref is missing but the id exists, refuses when both are gone', async () => {
    const gone = `sha256:${'9'.repeat(64)}`;
    let tagged = false;
    const h = host((argv) => {
      if (argv === `docker tag ${ID1} shop:v0`) tagged = true;
      if (argv === 'docker image inspect --format {{.Id}} shop:v0') {
        return tagged ? { stdout: ID1 } : { exitCode: 1, stderr: 'Error: No such image: shop:v0' };
      }
      if (argv === `docker image inspect --format {{.Id}} ${gone}`) return { exitCode: 1, stderr: `Error: No such image: ${gone}` };
      return undefined;
    });
    const p = provider(h.run);
    await p.rollback(ctxFor(), { version: 'v0', artifact: { image: 'shop:v0', imageId: ID1 } });
    expect(h.argvs()).toContain(`docker tag ${ID1} shop:v0`);
    await fs.writeFile(path.join(dir, '.env'), ENV);
    tagged = false;
    await expect(p.rollback(ctxFor(), { version: 'v0', artifact: { image: 'shop:v0', imageId: gone } })).rejects.toThrow(
      /cannot roll back to v0: neither shop:v0 nor the recorded image/,
    );
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toBe(ENV);
  });

  const started: DeployStarted = { version: 'v1', release: { version: 'v1', artifact: { image: 'shop:v1', imageId: ID1 } } };

  it.each([
    [{ health: 'healthy' }, 'ready', /healthy/],
    [{ health: 'starting' }, 'pending', /starting/],
    [{ health: 'unhealthy', log: 'wget: server returned error: HTTP/1.0 404 Not Found' }, 'failed', /unhealthy \(3 failed checks; last check exit 1: wget.*404/],
    [{}, 'ready', /running \(no HEALTHCHECK\)/],
    [{ running: false, status: 'exited', exitCode: 137 }, 'failed', /exited with exit code 137/],
    [{ running: false, status: 'dead', exitCode: 1 }, 'failed', /dead/],
    [{ running: false, status: 'restarting', exitCode: 2 }, 'pending', /restarting/],
    [{ running: false, status: 'created' }, 'pending', /created/],
    [{ imageId: ID2, image: 'shop:v2' }, 'failed', /not the release's/],
  ] as Array<[ContainerShape, string, RegExp]>)('readiness of %j is %s', async (shape, state, detail) => {
    const p = provider(host(undefined, shape).run);
    const r = await p.readiness(ctxFor(), started);
    expect(r.state).toBe(state);
    expect(r.detail).toMatch(detail);
  });

  it('readiness fails when the service has no container', async () => {
    const p = provider(host(undefined, null).run);
    expect(await p.readiness(ctxFor(), started)).toMatchObject({ state: 'failed', detail: expect.stringMatching(/no container/) });
  });

  it('health: container HEALTHCHECK first, then the configured check, then nothing', async () => {
    const healthy = provider(host(undefined, { health: 'healthy' }).run);
    expect(await healthy.health(ctxFor())).toMatchObject({ ok: true, source: 'container' });
    const unhealthy = provider(host(undefined, { health: 'unhealthy' }).run);
    expect(await unhealthy.health(ctxFor())).toMatchObject({ ok: false, source: 'container' });
    const plain = provider(host(undefined, {}).run);
    expect(await plain.health(ctxFor())).toMatchObject({ ok: true, source: 'none' });
    // Port 1 on loopback: nothing listens there.
    const tcp = await plain.health(ctxFor({}, { healthCheck: { type: 'tcp', host: '127.0.0.1', port: 1, timeoutSeconds: 2, intervalSeconds: 1 } }));
    expect(tcp).toMatchObject({ ok: false, source: 'tcp' });
    const stopped = provider(host(undefined, { running: false, status: 'exited', exitCode: 1 }).run);
    expect(await stopped.health(ctxFor())).toMatchObject({ ok: false, source: 'provider' });
    const none = provider(host(undefined, null).run);
    expect(await none.health(ctxFor())).toMatchObject({ ok: false, source: 'provider' });
  });

  it('status maps container states and recovers the version from the image', async () => {
    const s = async (shape: ContainerShape | null) => provider(host(undefined, shape).run).status(ctxFor());
    expect(await s({})).toMatchObject({ state: 'running', version: 'v1' });
    expect(await s({ health: 'unhealthy' })).toMatchObject({ state: 'unhealthy' });
    expect(await s({ health: 'starting' })).toMatchObject({ state: 'starting' });
    expect(await s({ running: false, status: 'exited' })).toMatchObject({ state: 'stopped' });
    expect(await s(null)).toMatchObject({ state: 'absent' });
    expect(await s({ image: 'elsewhere/shop:v9' })).not.toHaveProperty('version');
  });

  it('input errors name the compose file, the service and what to do', async () => {
    const p = provider(host().run);
    await expect(p.deploy(ctxFor({ service_name: 'api' }), 'v2')).rejects.toThrow(
      new RegExp(`${path.join(dir, 'docker-compose.yml').replace(/[.]/g, '\\.')} has no service "api" \\(services: web\\); set service_name`),
    );
    await expect(p.deploy(ctxFor({ compose_file: 'missing.yml' }), 'v2')).rejects.toThrow(/missing\.yml does not exist/);
    await expect(p.deploy(ctxFor(), 'v2+build')).rejects.toThrow(/Docker image tag.*no "\+"/);
    const report = await p.preflight(ctxFor({ compose_file: 'missing.yml' }));
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'compose-file')?.detail).toMatch(/does not exist/);
  });

  it('preflight reports one check per item', async () => {
    const h = host((argv) => (argv.startsWith('docker version') ? { stdout: '20.10.24' } : undefined));
    const report = await provider(h.run).preflight(ctxFor());
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['config', true],
      ['compose-cli', true],
      ['docker-engine', true],
      ['compose-file', true],
      ['version-file', true],
    ]);
  });

  it('remove is idempotent and falls back to compose labels when the compose file is gone', async () => {
    const h = host(undefined, null);
    const p = provider(h.run);
    await p.remove(ctxFor());
    expect(h.argvs().at(-1)).toMatch(/ rm -f -s web$/);
    await fs.rm(path.join(dir, 'docker-compose.yml'));
    const h2 = host((argv) => (argv.startsWith('docker container ls') ? { stdout: `${CID}\n` } : undefined));
    await provider(h2.run).remove(ctxFor());
    expect(h2.argvs().slice(-2)).toEqual([
      'docker container ls -a -q --no-trunc --filter label=com.docker.compose.project=shop --filter label=com.docker.compose.service=web',
      `docker container rm -f ${CID}`,
    ]);
  });

  it('logs asks for the tail without colours', async () => {
    const h = host((argv) => (argv.includes(' logs ') ? { stdout: 'web_1  | hello' } : undefined));
    expect(await provider(h.run).logs(ctxFor(), 5)).toBe('web_1  | hello');
    expect(h.argvs().at(-1)).toMatch(/ logs --no-color --tail 5 web$/);
  });

  it('refuses a relative compose_file: the worker never resolves paths against its own directory', async () => {
    const p = provider(host().run);
    const ctx = ctxFor();
    ctx.config.compose_file = 'docker-compose.yml';
    await expect(p.status(ctx)).rejects.toThrow(/compose_file "docker-compose\.yml" of shop\/prod is relative: the worker needs an absolute path/);
  });

  it('cancel has nothing queued to stop and says so, without running anything', async () => {
    const h = host();
    const report = await provider(h.run).cancel(ctxFor(), null);
    expect(report).toMatchObject({ cancelled: false, detail: expect.stringMatching(/nothing queued/) });
    expect(h.calls).toEqual([]);
  });

  it('prune removes only images this target deployed that no kept release uses, never forced', async () => {
    state = memoryState({ project: 'shop', images: ['shop:v0', 'shop:v1', 'shop:v2', 'shop:old', 'shop:gone'] });
    const ID0 = `sha256:${'0'.repeat(64)}`;
    const h = host((argv) => {
      if (argv === 'docker image inspect --format {{.Id}} shop:v0') return { stdout: ID0 };
      // shop:old is another tag of the kept v1 image: untagging it is never tried.
      if (argv === 'docker image inspect --format {{.Id}} shop:old') return { stdout: ID1 };
      if (argv === 'docker image rm shop:v0') return { stdout: `Untagged: shop:v0\nDeleted: ${ID0}` };
      return undefined;
    });
    const keep = [
      { version: 'v2', artifact: { image: 'shop:v2', imageId: ID2 } },
      { version: 'v1', artifact: { image: 'shop:v1', imageId: ID1 } },
    ];
    const report = await provider(h.run).prune(ctxFor(), keep);
    expect(report.removed).toEqual(['shop:v0']);
    expect(h.argvs().filter((a) => a.startsWith('docker image rm'))).toEqual(['docker image rm shop:v0']);
    expect(report.detail).toMatch(/shop:old is the image of a kept release/);
    // Forgotten: what was removed, and what someone else removed already.
    expect(state.current()).toEqual({ project: 'shop', images: ['shop:v1', 'shop:v2', 'shop:old'] });
  });

  it('prune keeps an image Docker refuses to remove (in use) and reports why', async () => {
    state = memoryState({ images: ['shop:v0'] });
    const ID0 = `sha256:${'0'.repeat(64)}`;
    const h = host((argv) => {
      if (argv === 'docker image inspect --format {{.Id}} shop:v0') return { stdout: ID0 };
      if (argv === 'docker image rm shop:v0') return { exitCode: 1, stderr: 'Error response from daemon: conflict: unable to remove repository reference "shop:v0" (must force) - container 123 is using its referenced image' };
      return undefined;
    });
    const report = await provider(h.run).prune(ctxFor(), [{ version: 'v1', artifact: { image: 'shop:v1', imageId: ID1 } }]);
    expect(report.removed).toEqual([]);
    expect(report.detail).toMatch(/shop:v0: .*container 123 is using/);
    expect(state.current()).toEqual({ images: ['shop:v0'] });
  });

  it('remove finds the containers in the remembered project once the compose file is gone', async () => {
    state = memoryState({ project: 'elsewhere', images: [] });
    await fs.rm(path.join(dir, 'docker-compose.yml'));
    const h = host((argv) => (argv.startsWith('docker container ls') ? { stdout: `${CID}\n` } : undefined));
    await provider(h.run).remove(ctxFor({ project_name: undefined }));
    expect(h.argvs().find((a) => a.startsWith('docker container ls'))).toContain('label=com.docker.compose.project=elsewhere');
    expect(h.argvs()).toContain(`docker container rm -f ${CID}`);
  });
});
