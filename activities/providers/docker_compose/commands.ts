/**
 * Every command the Docker Compose provider runs, as pure functions returning argv arrays
 * (in the manner of Kamal's command classes). Nothing here executes anything; nothing goes through a shell.
 */
import path from 'node:path';
import type { CommandSpec } from '../../commandRunner';

export type ComposeCliKind = 'v2' | 'v1';

export interface ComposeCli {
  kind: ComposeCliKind;
  /** `docker compose` for the v2 plugin, `docker-compose` for v1. */
  argv: readonly string[];
  /** What `version` printed, for messages. */
  version: string;
}

export const COMPOSE_CLI_ARGV: Readonly<Record<ComposeCliKind, readonly string[]>> = {
  v2: ['docker', 'compose'],
  v1: ['docker-compose'],
};

/** Where and how compose runs for one target. */
export interface ComposeInvocation {
  cli: ComposeCli;
  /** Absolute path of the compose file. */
  composeFile: string;
  projectName?: string;
  /** Absolute path of the env file, passed as --env-file when set. */
  envFile?: string;
  /** Directory the commands run in (the compose file's). */
  cwd: string;
  /** Extra environment: DOCKER_HOST, the version variable. */
  env: Readonly<Record<string, string>>;
}

/** The environment and place `docker` commands run with. */
export interface DockerInvocation {
  cwd?: string;
  env: Readonly<Record<string, string>>;
}

export const TIMEOUTS = {
  probe: 30_000,
  inspect: 60_000,
  pull: 30 * 60_000,
  up: 10 * 60_000,
  stop: 5 * 60_000,
  logs: 60_000,
} as const;

const SERVICE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PROJECT = /^[a-z0-9][a-z0-9_-]*$/;
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
/** An image reference as Docker accepts it: name components, optional registry port, tag and digest. */
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\/:-]*(@sha256:[0-9a-f]{64})?$/;

function check(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new Error(`refusing to build a command with ${what} ${JSON.stringify(value)}`);
  return value;
}

export function isImageReference(ref: string): boolean {
  return ref.length <= 512 && IMAGE_REF.test(ref);
}

export function isImageId(id: string): boolean {
  return IMAGE_ID.test(id);
}

function imageRef(ref: string): string {
  if (!isImageReference(ref)) throw new Error(`refusing to build a command with image reference ${JSON.stringify(ref)}`);
  return ref;
}

function spec(argv: string[], cwd: string | undefined, env: Readonly<Record<string, string>>, timeoutMs: number): CommandSpec {
  return { argv, ...(cwd ? { cwd } : {}), env: { ...env }, timeoutMs };
}

/** `docker compose version` / `docker-compose version`: used to detect which CLI exists. */
export function composeVersion(kind: ComposeCliKind): CommandSpec {
  return { argv: [...COMPOSE_CLI_ARGV[kind], 'version'], timeoutMs: TIMEOUTS.probe };
}

/** The compose CLI with the global options of this target: -f, -p, --env-file. */
export function composeCommand(inv: ComposeInvocation, args: readonly string[], timeoutMs: number = TIMEOUTS.inspect): CommandSpec {
  for (const file of [inv.composeFile, inv.envFile]) {
    if (file !== undefined && !path.isAbsolute(file)) throw new Error(`compose commands need absolute paths, got ${JSON.stringify(file)}`);
  }
  const argv = [...inv.cli.argv, '-f', inv.composeFile];
  if (inv.projectName !== undefined) argv.push('-p', check(inv.projectName, PROJECT, 'project name'));
  if (inv.envFile !== undefined) argv.push('--env-file', inv.envFile);
  argv.push(...args);
  return spec(argv, inv.cwd, inv.env, timeoutMs);
}

export function pull(inv: ComposeInvocation, service: string): CommandSpec {
  return composeCommand(inv, ['pull', check(service, SERVICE, 'service')], TIMEOUTS.pull);
}

/** Creates or recreates only this service (never its dependencies), detached. */
export function up(inv: ComposeInvocation, service: string): CommandSpec {
  return composeCommand(inv, ['up', '-d', '--no-deps', check(service, SERVICE, 'service')], TIMEOUTS.up);
}

/** Ids of the service's containers, stopped ones included. */
export function ps(inv: ComposeInvocation, service: string): CommandSpec {
  return composeCommand(inv, ['ps', '-a', '-q', check(service, SERVICE, 'service')]);
}

export function logs(inv: ComposeInvocation, service: string, tail: number): CommandSpec {
  if (!Number.isSafeInteger(tail) || tail < 0 || tail > 100_000) throw new Error(`invalid log tail ${String(tail)}`);
  return composeCommand(inv, ['logs', '--no-color', '--tail', String(tail), check(service, SERVICE, 'service')], TIMEOUTS.logs);
}

/** Starts the service's existing containers again (after stop); fails when it has none. */
export function start(inv: ComposeInvocation, service: string): CommandSpec {
  return composeCommand(inv, ['start', check(service, SERVICE, 'service')], TIMEOUTS.up);
}

export function stop(inv: ComposeInvocation, service: string): CommandSpec {
  return composeCommand(inv, ['stop', check(service, SERVICE, 'service')], TIMEOUTS.stop);
}

/** Stops (-s) and removes (-f: without asking) the service's containers; succeeds when there are none. */
export function rm(inv: ComposeInvocation, service: string): CommandSpec {
  return composeCommand(inv, ['rm', '-f', '-s', check(service, SERVICE, 'service')], TIMEOUTS.stop);
}

/** `docker version` with the server part: fails when the engine does not answer. */
export function engineVersion(inv: DockerInvocation): CommandSpec {
  return spec(['docker', 'version', '--format', '{{.Server.Version}}'], inv.cwd, inv.env, TIMEOUTS.probe);
}

/** JSON array describing the containers. */
export function inspectContainer(inv: DockerInvocation, ids: readonly string[]): CommandSpec {
  if (ids.length === 0) throw new Error('inspectContainer needs at least one container id');
  return spec(
    ['docker', 'container', 'inspect', ...ids.map((id) => check(id, CONTAINER_ID, 'container id'))],
    inv.cwd,
    inv.env,
    TIMEOUTS.inspect,
  );
}

/** Prints the image id (`sha256:…`) of a local image; fails when the image is not present locally. */
export function imageInspect(inv: DockerInvocation, refOrId: string): CommandSpec {
  const target = isImageId(refOrId) ? refOrId : imageRef(refOrId);
  return spec(['docker', 'image', 'inspect', '--format', '{{.Id}}', target], inv.cwd, inv.env, TIMEOUTS.inspect);
}

/** Points `ref` at the local image `imageId`. */
export function tag(inv: DockerInvocation, imageId: string, ref: string): CommandSpec {
  return spec(['docker', 'tag', check(imageId, IMAGE_ID, 'image id'), imageRef(ref)], inv.cwd, inv.env, TIMEOUTS.inspect);
}

/** Ids of the containers compose created for `service` of `project` (all states), found by compose's labels. */
export function containersByLabels(inv: DockerInvocation, project: string, service: string): CommandSpec {
  return spec(
    [
      'docker',
      'container',
      'ls',
      '-a',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${check(project, PROJECT, 'project name')}`,
      '--filter',
      `label=com.docker.compose.service=${check(service, SERVICE, 'service')}`,
    ],
    inv.cwd,
    inv.env,
    TIMEOUTS.inspect,
  );
}

/** Force-removes containers (stopping them first). */
export function removeContainers(inv: DockerInvocation, ids: readonly string[]): CommandSpec {
  if (ids.length === 0) throw new Error('removeContainers needs at least one container id');
  return spec(['docker', 'container', 'rm', '-f', ...ids.map((id) => check(id, CONTAINER_ID, 'container id'))], inv.cwd, inv.env, TIMEOUTS.stop);
}

/** Untags (and, when no other tag or container holds it, deletes) a local image. Never forced: an image in use stays. */
export function removeImage(inv: DockerInvocation, ref: string): CommandSpec {
  return spec(['docker', 'image', 'rm', imageRef(ref)], inv.cwd, inv.env, TIMEOUTS.inspect);
}
