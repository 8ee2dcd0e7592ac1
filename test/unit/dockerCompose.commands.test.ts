import { describe, expect, it } from 'vitest';
import * as cmd from '../../activities/providers/docker_compose/commands';
import type { ComposeInvocation } from '../../activities/providers/docker_compose/commands';

const v2: ComposeInvocation = {
  cli: { kind: 'v2', argv: cmd.COMPOSE_CLI_ARGV.v2, version: 'Docker Compose version v2.29.0' },
  composeFile: '/srv/app/docker-compose.yml',
  projectName: 'shop',
  envFile: '/srv/app/.env',
  cwd: '/srv/app',
  env: { DOCKER_HOST: 'unix:///run/docker.sock', VERSION: 'v1' },
};
const v1: ComposeInvocation = {
  cli: { kind: 'v1', argv: cmd.COMPOSE_CLI_ARGV.v1, version: 'docker-compose version 1.29.2' },
  composeFile: '/srv/app/docker-compose.yml',
  cwd: '/srv/app',
  env: {},
};
const docker = { cwd: '/srv/app', env: { DOCKER_HOST: 'ssh://deploy@host' } };
const ID = `sha256:${'ab'.repeat(32)}`;

describe('compose command builders', () => {
  it('passes -f, -p and --env-file before the subcommand (v2)', () => {
    expect(cmd.up(v2, 'web')).toEqual({
      argv: ['docker', 'compose', '-f', '/srv/app/docker-compose.yml', '-p', 'shop', '--env-file', '/srv/app/.env', 'up', '-d', '--no-deps', 'web'],
      cwd: '/srv/app',
      env: { DOCKER_HOST: 'unix:///run/docker.sock', VERSION: 'v1' },
      timeoutMs: cmd.TIMEOUTS.up,
    });
  });

  it('leaves -p and --env-file out when not set (v1)', () => {
    expect(cmd.up(v1, 'web').argv).toEqual(['docker-compose', '-f', '/srv/app/docker-compose.yml', 'up', '-d', '--no-deps', 'web']);
  });

  it('builds every subcommand exactly', () => {
    const base = ['docker-compose', '-f', '/srv/app/docker-compose.yml'];
    expect(cmd.pull(v1, 'web').argv).toEqual([...base, 'pull', 'web']);
    expect(cmd.ps(v1, 'web').argv).toEqual([...base, 'ps', '-a', '-q', 'web']);
    expect(cmd.logs(v1, 'web', 50).argv).toEqual([...base, 'logs', '--no-color', '--tail', '50', 'web']);
    expect(cmd.stop(v1, 'web').argv).toEqual([...base, 'stop', 'web']);
    expect(cmd.start(v1, 'web').argv).toEqual([...base, 'start', 'web']);
    expect(cmd.rm(v1, 'web').argv).toEqual([...base, 'rm', '-f', '-s', 'web']);
    expect(cmd.rm(v2, 'web').argv.slice(-4)).toEqual(['rm', '-f', '-s', 'web']);
    expect(cmd.composeVersion('v2').argv).toEqual(['docker', 'compose', 'version']);
    expect(cmd.composeVersion('v1').argv).toEqual(['docker-compose', 'version']);
  });

  it('builds docker commands with DOCKER_HOST in their environment', () => {
    expect(cmd.imageInspect(docker, 'registry.local:5000/team/app:v1')).toEqual({
      argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', 'registry.local:5000/team/app:v1'],
      cwd: '/srv/app',
      env: { DOCKER_HOST: 'ssh://deploy@host' },
      timeoutMs: cmd.TIMEOUTS.inspect,
    });
    expect(cmd.imageInspect(docker, ID).argv.at(-1)).toBe(ID);
    expect(cmd.tag(docker, ID, 'app:v1').argv).toEqual(['docker', 'tag', ID, 'app:v1']);
    expect(cmd.inspectContainer(docker, ['0123456789ab']).argv).toEqual(['docker', 'container', 'inspect', '0123456789ab']);
    expect(cmd.engineVersion(docker).argv).toEqual(['docker', 'version', '--format', '{{.Server.Version}}']);
    expect(cmd.containersByLabels(docker, 'shop', 'web').argv).toEqual([
      'docker', 'container', 'ls', '-a', '-q', '--no-trunc',
      '--filter', 'label=com.docker.compose.project=shop',
      '--filter', 'label=com.docker.compose.service=web',
    ]);
    expect(cmd.removeContainers(docker, ['0123456789ab']).argv).toEqual(['docker', 'container', 'rm', '-f', '0123456789ab']);
  });

  it('returns fresh copies (callers cannot alter shared state)', () => {
    const a = cmd.up(v2, 'web');
    (a.argv as string[]).push('--evil');
    expect(cmd.up(v2, 'web').argv).not.toContain('--evil');
    expect(cmd.COMPOSE_CLI_ARGV.v2).toEqual(['docker', 'compose']);
  });

  it.each(['-v', '--all', 'web;id', 'web app', '$(id)', '', 'web\n'])('refuses the service name %j', (svc) => {
    expect(() => cmd.up(v1, svc)).toThrow(/refusing/);
    expect(() => cmd.rm(v1, svc)).toThrow(/refusing/);
    expect(() => cmd.start(v1, svc)).toThrow(/refusing/);
    expect(() => cmd.stop(v1, svc)).toThrow(/refusing/);
    expect(() => cmd.logs(v1, svc, 10)).toThrow(/refusing/);
  });

  it.each(['-v', 'app:v1;id', 'app:$(id)', 'app v1', 'app:v1\n', '--help', ''])('refuses the image reference %j', (ref) => {
    expect(() => cmd.imageInspect(docker, ref)).toThrow(/refusing/);
    expect(() => cmd.tag(docker, ID, ref)).toThrow(/refusing/);
  });

  it('refuses bad ids, projects, tails and relative paths', () => {
    expect(() => cmd.tag(docker, 'sha256:xyz', 'app:v1')).toThrow(/refusing/);
    expect(() => cmd.tag(docker, '-f', 'app:v1')).toThrow(/refusing/);
    expect(() => cmd.inspectContainer(docker, ['--format'])).toThrow(/refusing/);
    expect(() => cmd.inspectContainer(docker, [])).toThrow();
    expect(() => cmd.up({ ...v1, projectName: '-p' }, 'web')).toThrow(/refusing/);
    expect(() => cmd.logs(v1, 'web', -1)).toThrow(/tail/);
    expect(() => cmd.logs(v1, 'web', 1.5)).toThrow(/tail/);
    expect(() => cmd.up({ ...v1, composeFile: 'docker-compose.yml' }, 'web')).toThrow(/absolute/);
    expect(() => cmd.up({ ...v1, envFile: '-x' }, 'web')).toThrow(/absolute/);
  });

  it('recognises image references and ids', () => {
    expect(cmd.isImageReference('app')).toBe(true);
    expect(cmd.isImageReference(`app@sha256:${'0'.repeat(64)}`)).toBe(true);
    expect(cmd.isImageReference('localhost:5000/a/b:1.0')).toBe(true);
    expect(cmd.isImageReference('-app')).toBe(false);
    expect(cmd.isImageId(ID)).toBe(true);
    expect(cmd.isImageId('ab'.repeat(32))).toBe(false);
  });
});
