/**
 * The CLI as a user meets it when things are wrong: every bad input is refused with exit code 2 and a
 * message naming what and where, before any workflow starts. Also checks the production compose file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../client/exitCodes';
import { runCli } from '../support/cli';
import { NUM_HISTORY_SHARDS, SERVICES, TEMPORAL_SERVER_VERSION } from '../../workers/cluster';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let config: string;
// Nothing listens on port 1: any attempt to reach Temporal fails fast.
const env = { ...(process.env as Record<string, string>), TEMPORAL_ADDRESS: '127.0.0.1:1' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fraisier-cli-'));
  config = join(dir, 'fraises.yaml');
  await writeFile(
    config,
    [
      'fraises:',
      '  api:',
      '    providers:',
      '      staging: { provider: docker_compose, config: { compose_file: c.yml, service_name: api } }',
      '      production: { provider: bare_metal, config: { ssh_host: prod.example.com, ssh_user: deploy, app_path: /srv/api, repo: /srv/git/api.git, systemd_service: api.service } }',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bad input is refused with exit code 2 before anything starts', () => {
  it('a version with shell metacharacters', async () => {
    const r = await runCli(['deploy', 'api', 'staging', '--version', 'v1;rm -rf /', '--config', config], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('--version "v1;rm -rf /"');
  });

  it('a version that looks like an option', async () => {
    const r = await runCli(['rollback', 'api', 'staging', '--to=-rf', '--config', config], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('--to "-rf"');
  });

  it('an unknown fraise or environment, listing the known ones', async () => {
    const fraise = await runCli(['deploy', 'apx', 'staging', '--version', 'v1', '--config', config], env);
    expect(fraise.code).toBe(EXIT.badInput);
    expect(fraise.stderr).toContain('api');
    const environment = await runCli(['deploy', 'api', 'stagin', '--version', 'v1', '--config', config], env);
    expect(environment.code).toBe(EXIT.badInput);
    expect(environment.stderr).toMatch(/production.*staging|staging.*production/);
  });

  it('an invalid config file: every problem, with file and key path', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'fraises:\n  API:\n    providers:\n      staging: { provider: docker_compose, config: { service_name: api, compse_file: x } }\n');
    const r = await runCli(['deploy', 'API', 'staging', '--version', 'v1', '--config', bad], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain(`${bad}: fraises.API`);
    expect(r.stderr).toContain('fraises.API.providers.staging.config.compose_file');
    expect(r.stderr).toContain('compse_file');
  });

  it('a missing config file, saying how to point elsewhere', async () => {
    const r = await runCli(['status', 'api', 'staging', '--config', join(dir, 'nope.yaml')], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('nope.yaml');
    expect(r.stderr).toContain('--config');
  });

  it.each(['v1..2', 'v1.lock', '$(reboot)', '-v1', 'v1;rm'])('a bare_metal version %j that is not a git ref, before anything runs', async (version) => {
    const r = await runCli(['deploy', 'api', 'production', '--version', version, '--config', config], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toMatch(/version/);
    expect(r.stderr).not.toMatch(/Temporal/);
  });

  it('a bad duration', async () => {
    const r = await runCli(['deploy', 'api', 'staging', '--version', 'v1', '--ttl', 'soon', '--config', config], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('--ttl "soon"');
  });

  it('Temporal out of reach, saying what to do, also as JSON', async () => {
    const r = await runCli(['deploy', 'api', 'staging', '--version', 'v1', '--config', config, '--json'], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(r.stderr).toContain('npm start');
    expect(r.json<{ exitCode: number }>().exitCode).toBe(EXIT.badInput);
  });

  it('an unknown command or option', async () => {
    const typo = await runCli(['deploi'], env);
    expect(typo.code).toBe(EXIT.badInput);
    expect(typo.stderr).toContain('unknown command "deploi" (did you mean "deploy"?)');
    expect((await runCli(['deploy', 'api', 'staging', '--config', config], env)).code).toBe(EXIT.badInput);
  });

  it('an unknown command even with --help: said, not answered with the top-level help and exit 0', async () => {
    const r = await runCli(['tenant', 'provision', '--help'], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('unknown command "tenant"');
    expect(r.stderr).toContain('commands: deploy, rollback');
    expect(r.stdout).toBe('');
    // A known command's own help still works.
    const help = await runCli(['deploy', '--help'], env);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain('--wait-lock');
  });

  it("a version the target's provider cannot take (a Docker tag has no \"+\"), before anything starts", async () => {
    const r = await runCli(['deploy', 'api', 'staging', '--version', '1.0.0+build.5', '--config', config], env);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('docker_compose deploys the version as a Docker image tag');
    expect(r.stderr).not.toContain('cannot reach Temporal');
  });
});

describe('read commands that need no server', () => {
  it('lists providers and describes one, as text and JSON', async () => {
    const list = await runCli(['providers', '--json'], env);
    expect(list.code).toBe(EXIT.ok);
    expect(list.json<Array<{ name: string; available: boolean }>>()).toEqual([
      expect.objectContaining({ name: 'docker_compose', available: true }),
      expect.objectContaining({ name: 'coolify', available: true }),
      expect.objectContaining({ name: 'bare_metal', available: true }),
    ]);
    const text = await runCli(['providers', '--config', '/nonexistent/fraises.yaml'], { ...env, COOLIFY_API_URL: '', COOLIFY_API_TOKEN: '' });
    expect(text.stdout).toMatch(/projects \(backend auto\): projects run on the local Docker host with docker compose: projects.backend is auto and COOLIFY_API_URL and COOLIFY_API_TOKEN are not set/);
    const coolify = await runCli(['providers', '--config', '/nonexistent/fraises.yaml'], { ...env, COOLIFY_API_URL: 'https://coolify.example.com', COOLIFY_API_TOKEN: 'token-never-shown' });
    expect(coolify.stdout).toMatch(/projects run on Coolify at https:\/\/coolify.example.com: projects.backend is auto/);
    expect(coolify.stdout).not.toContain('token-never-shown');
    const info = await runCli(['provider-info', 'docker_compose'], env);
    expect(info.code).toBe(EXIT.ok);
    expect(info.stdout).toMatch(/compose_file \(required\)/);
    expect(info.stdout).toMatch(/pull: auto \| always \| never, default "auto"/);
    expect((await runCli(['provider-info', 'kubernetes'], env)).code).toBe(EXIT.badInput);
  });

  it('prints help with the exit codes', async () => {
    const r = await runCli(['--help'], env);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 the operation failed, 2 bad input/config or Temporal unreachable, 3 the target is locked.');
  });
});

describe('docker-compose.temporal.yml', () => {
  it('is a valid compose file that registers every search attribute', async () => {
    const r = await execa('docker-compose', ['-f', join(REPO, 'docker-compose.temporal.yml'), 'config'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const name of ['FraiseName', 'FraiseEnvironment', 'FraiseProvider', 'FraiseVersion', 'FraiseOperation']) {
      expect(r.stdout).toContain(name);
    }
    expect(r.stdout).toMatch(/postgres/);
  });

  it("describes npm run cluster's topology: the four services apart, same server version and shard count, SQL visibility", async () => {
    const r = await execa('docker-compose', ['-f', join(REPO, 'docker-compose.temporal.yml'), 'config'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const compose = parse(r.stdout) as { services: Record<string, { image: string; environment?: Record<string, string> }> };
    for (const service of SERVICES) {
      const c = compose.services[`temporal-${service}`];
      expect(c, `temporal-${service}`).toBeDefined();
      expect(c?.image).toBe(`temporalio/server:${TEMPORAL_SERVER_VERSION.replace(/^v/, '')}`);
      expect(c?.environment).toMatchObject({
        SERVICES: service,
        DB: 'postgres12',
        NUM_HISTORY_SHARDS: String(NUM_HISTORY_SHARDS),
        DBNAME: 'temporal',
        VISIBILITY_DBNAME: 'temporal_visibility',
      });
    }
    expect(compose.services['temporal-schema']?.image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION.replace(/^v/, '')}`);
    expect(Object.keys(compose.services)).not.toContain('temporal');
  });
});
