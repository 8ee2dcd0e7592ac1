/**
 * Docker Compose provider: deploys one service of a compose project by setting its version (an env
 * variable the image uses, or the image tag in the compose file), pulling, and `up -d --no-deps`.
 * Every command is built in ./commands and run through deps.run.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CommandResult, CommandSpec } from '../../commandRunner';
import { httpCheckUrl, probeHealth } from '../../health/index';
import {
  ProviderInputError,
  type DeployStarted,
  type HealthReport,
  type PreflightCheck,
  type PreflightReport,
  type Provider,
  type ProviderContext,
  type ProviderDeps,
  type Readiness,
  type ReleaseData,
  type ServiceStatus,
} from '../contract';
import * as cmd from './commands';
import type { ComposeCli, ComposeCliKind, ComposeInvocation, DockerInvocation } from './commands';
import {
  extractVariable,
  imageTag,
  imageVariables,
  interpolate,
  parseComposeFile,
  parseImageTemplate,
  replaceImageTag,
  setServiceImage,
  tagVariables,
  type ComposeFileInfo,
  type Lookup,
} from './composeFile';
import { dockerComposeConfigSchema, type DockerComposeConfig } from './config';
import { parseEnvFile, readEnvVariable, setEnvVariable } from './envFile';
import { replaceFile, writeFileAtomic } from './files';
import { validateDockerTag, validateVersion } from './version';

export { dockerComposeConfigSchema, type DockerComposeConfig } from './config';

export interface DockerComposeProviderOptions {
  /** Use this compose CLI instead of detecting one (v2 plugin first, then v1). */
  cli?: ComposeCliKind;
}

/** How the version is set for the service. */
export type VersionMode = { kind: 'variable'; name: string } | { kind: 'tag' };

interface Setup {
  cfg: DockerComposeConfig;
  composeFile: string;
  composeDir: string;
  envFile: string;
  envFileConfigured: boolean;
  service: string;
  docker: DockerInvocation;
}

interface FileState {
  compose: ComposeFileInfo;
  composeText: string;
  /** Undefined when the env file does not exist. */
  envText: string | undefined;
  mode: VersionMode;
}

const containerSchema = z.object({
  Id: z.string(),
  Created: z.string(),
  Image: z.string(),
  Config: z.object({
    Image: z.string(),
    Labels: z.record(z.string(), z.string()).nullish(),
  }),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    ExitCode: z.number(),
    Error: z.string().optional(),
    Health: z
      .object({
        Status: z.string(),
        FailingStreak: z.number().optional(),
        Log: z.array(z.object({ ExitCode: z.number(), Output: z.string() })).nullish(),
      })
      .nullish(),
  }),
});
type ContainerInfo = z.infer<typeof containerSchema>;

function tail(text: string, max = 800): string {
  const t = text.trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}

function failure(what: string, r: CommandResult): Error {
  const out = tail(r.stderr || r.stdout);
  return new Error(`${what} failed (exit ${r.exitCode}, \`${r.argv.join(' ')}\`)${out ? `: ${out}` : ''}`);
}

/** The project name compose derives from the compose file's directory when none is given. */
export function defaultProjectName(composeDir: string): string {
  return path.basename(composeDir).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[^a-z0-9]+/, '');
}

/** Resolves the target's config; relative paths resolve against the fraises.yaml directory. */
export function resolveSetup(target: ProviderContext['target']): Setup {
  const parsed = dockerComposeConfigSchema.safeParse(target.config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new ProviderInputError(`invalid docker_compose config for ${target.fraise}/${target.environment}: ${issues}`);
  }
  const cfg = parsed.data;
  const composeFile = path.resolve(target.configDir, cfg.compose_file);
  const composeDir = path.dirname(composeFile);
  const envFile = cfg.env_file ? path.resolve(target.configDir, cfg.env_file) : path.join(composeDir, '.env');
  return {
    cfg,
    composeFile,
    composeDir,
    envFile,
    envFileConfigured: cfg.env_file !== undefined,
    service: cfg.service_name,
    docker: { cwd: composeDir, env: cfg.docker_host ? { DOCKER_HOST: cfg.docker_host } : {} },
  };
}

/** Chooses how the version is set: the configured variable, else the single variable in the image tag, else the tag. */
export function versionMode(compose: ComposeFileInfo, cfg: Pick<DockerComposeConfig, 'version_variable' | 'service_name'>, file: string): VersionMode {
  const all = imageVariables(compose.segments);
  if (cfg.version_variable) {
    if (!all.includes(cfg.version_variable)) {
      throw new ProviderInputError(
        `version_variable is ${cfg.version_variable} but the image of service "${cfg.service_name}" in ${file} (${compose.image}) does not use it; write e.g. image: name:\${${cfg.version_variable}}`,
      );
    }
    return { kind: 'variable', name: cfg.version_variable };
  }
  const inTag = tagVariables(compose.segments);
  if (inTag.length === 1 && inTag[0]) return { kind: 'variable', name: inTag[0] };
  if (inTag.length > 1) {
    throw new ProviderInputError(
      `the image of service "${cfg.service_name}" in ${file} (${compose.image}) uses several variables in its tag (${inTag.join(', ')}); set version_variable to the one holding the version`,
    );
  }
  return { kind: 'tag' };
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readState(setup: Setup): Promise<FileState> {
  const composeText = await readOptional(setup.composeFile);
  if (composeText === undefined) {
    throw new ProviderInputError(
      `compose file ${setup.composeFile} does not exist (compose_file: ${setup.cfg.compose_file}, relative to the fraises.yaml directory); fix compose_file or create the file`,
    );
  }
  const compose = parseComposeFile(composeText, setup.composeFile, setup.service);
  const mode = versionMode(compose, setup.cfg, setup.composeFile);
  const envText = await readOptional(setup.envFile);
  return { compose, composeText, envText, mode };
}

/** Compose precedence: the process environment, then the env file; the version variable always from the env file. */
function lookupFor(state: FileState, overrides: Record<string, string> = {}): Lookup {
  const fromFile = state.envText !== undefined ? parseEnvFile(state.envText) : {};
  return (name) => {
    if (name in overrides) return overrides[name];
    if (state.mode.kind === 'variable' && name === state.mode.name) return fromFile[name];
    return process.env[name] ?? fromFile[name];
  };
}

/** The concrete image reference the service uses with `version` (or with the current files when omitted). */
function imageFor(setup: Setup, state: FileState, version?: string): string {
  let ref: string;
  if (version === undefined) {
    ref = interpolate(state.compose.segments, lookupFor(state));
  } else if (state.mode.kind === 'variable') {
    ref = interpolate(state.compose.segments, lookupFor(state, { [state.mode.name]: version }));
  } else {
    const template = replaceImageTag(state.compose.image, version);
    ref = interpolate(parseImageTemplate(template), lookupFor(state));
  }
  if (!cmd.isImageReference(ref)) {
    throw new ProviderInputError(
      `the image of service "${setup.service}" in ${setup.composeFile} resolves to ${JSON.stringify(ref)}, which is not a valid image reference; check the variables it uses`,
    );
  }
  return ref;
}

function checkVersion(state: FileState, version: unknown): string {
  return state.mode.kind === 'tag' ? validateDockerTag(validateVersion(version)) : validateVersion(version);
}

function composeInvocation(setup: Setup, state: FileState, cli: ComposeCli): ComposeInvocation {
  const env: Record<string, string> = { ...setup.docker.env };
  if (state.mode.kind === 'variable') {
    // Pin the variable to the env file's value so that a variable of the worker's own environment never wins.
    const value = state.envText !== undefined ? readEnvVariable(state.envText, state.mode.name) : undefined;
    if (value !== undefined) env[state.mode.name] = value;
  }
  const useEnvFile = (state.mode.kind === 'variable' || setup.envFileConfigured) && state.envText !== undefined;
  return {
    cli,
    composeFile: setup.composeFile,
    ...(setup.cfg.project_name ? { projectName: setup.cfg.project_name } : {}),
    ...(useEnvFile ? { envFile: setup.envFile } : {}),
    cwd: setup.composeDir,
    env,
  };
}

function describeMode(setup: Setup, mode: VersionMode): string {
  return mode.kind === 'variable'
    ? `version in ${mode.name} of ${setup.envFile}`
    : `version as the image tag of "${setup.service}" in ${setup.composeFile}`;
}

/** Health of a container as the contract's verdicts. */
function containerVerdict(c: ContainerInfo): { state: 'ready' | 'pending' | 'failed'; detail: string; hasHealthcheck: boolean } {
  const name = `container ${c.Id.slice(0, 12)} (${c.Config.Image})`;
  const health = c.State.Health;
  if (!c.State.Running) {
    if (c.State.Status === 'exited' || c.State.Status === 'dead') {
      const err = c.State.Error ? `, ${c.State.Error}` : '';
      return { state: 'failed', detail: `${name} is ${c.State.Status} with exit code ${c.State.ExitCode}${err}`, hasHealthcheck: !!health };
    }
    return { state: 'pending', detail: `${name} is ${c.State.Status} (last exit code ${c.State.ExitCode})`, hasHealthcheck: !!health };
  }
  if (!health) return { state: 'ready', detail: `${name} is running (no HEALTHCHECK)`, hasHealthcheck: false };
  const last = health.Log?.at(-1);
  const lastText = last ? `; last check exit ${last.ExitCode}${last.Output.trim() ? `: ${tail(last.Output, 300)}` : ''}` : '';
  switch (health.Status) {
    case 'healthy':
      return { state: 'ready', detail: `${name} is healthy`, hasHealthcheck: true };
    case 'unhealthy':
      return { state: 'failed', detail: `${name} is unhealthy (${health.FailingStreak ?? '?'} failed checks${lastText})`, hasHealthcheck: true };
    default:
      return { state: 'pending', detail: `${name} health is ${health.Status}${lastText}`, hasHealthcheck: true };
  }
}

export function createDockerComposeProvider(deps: ProviderDeps, options: DockerComposeProviderOptions = {}): Provider {
  const run = (spec: CommandSpec, ctx: ProviderContext): Promise<CommandResult> => deps.run(spec, { signal: ctx.signal });
  let cliPromise: Promise<ComposeCli> | undefined;

  async function detectCli(ctx: ProviderContext): Promise<ComposeCli> {
    const kinds: ComposeCliKind[] = options.cli ? [options.cli] : ['v2', 'v1'];
    const tried: string[] = [];
    for (const kind of kinds) {
      const argv = cmd.COMPOSE_CLI_ARGV[kind];
      try {
        const r = await run(cmd.composeVersion(kind), ctx);
        const out = `${r.stdout}\n${r.stderr}`.trim();
        if (r.exitCode === 0 && /compose/i.test(out)) {
          return { kind, argv, version: out.split('\n')[0] ?? out };
        }
        tried.push(`\`${argv.join(' ')} version\` exited ${r.exitCode}${out ? `: ${tail(out, 200)}` : ''}`);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        tried.push(`\`${argv.join(' ')} version\` could not run: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const wanted = options.cli ? `the ${options.cli} compose CLI` : 'neither `docker compose` (v2 plugin) nor `docker-compose` (v1)';
    throw new ProviderInputError(`${wanted} is available on this worker (${tried.join('; ')}); install Docker Compose`);
  }

  function cli(ctx: ProviderContext): Promise<ComposeCli> {
    if (!cliPromise) {
      cliPromise = detectCli(ctx).catch((err: unknown) => {
        cliPromise = undefined;
        throw err;
      });
    }
    return cliPromise;
  }

  async function prepare(ctx: ProviderContext): Promise<{ setup: Setup; state: FileState; inv: ComposeInvocation; cli: ComposeCli }> {
    const setup = resolveSetup(ctx.target);
    const compose = await cli(ctx);
    const state = await readState(setup);
    return { setup, state, inv: composeInvocation(setup, state, compose), cli: compose };
  }

  async function findContainer(ctx: ProviderContext, setup: Setup, inv: ComposeInvocation): Promise<ContainerInfo | undefined> {
    const r = await run(cmd.ps(inv, setup.service), ctx);
    if (r.exitCode !== 0) throw failure(`listing the containers of "${setup.service}"`, r);
    const ids = r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-f]{12,64}$/.test(l));
    if (ids.length === 0) return undefined;
    const ir = await run(cmd.inspectContainer(setup.docker, ids), ctx);
    if (ir.exitCode !== 0) {
      // A container removed between ps and inspect: treat as absent.
      if (/no such (container|object)/i.test(ir.stderr)) return undefined;
      throw failure(`inspecting the containers of "${setup.service}"`, ir);
    }
    const parsed = z.array(containerSchema).safeParse(JSON.parse(ir.stdout));
    if (!parsed.success) throw new Error(`unexpected \`docker container inspect\` output: ${parsed.error.message}`);
    const candidates = parsed.data.filter((c) => c.Config.Labels?.['com.docker.compose.oneoff'] !== 'True');
    candidates.sort((a, b) => (a.Created < b.Created ? 1 : a.Created > b.Created ? -1 : 0));
    return candidates[0];
  }

  async function localImageId(ctx: ProviderContext, setup: Setup, refOrId: string): Promise<string | undefined> {
    const r = await run(cmd.imageInspect(setup.docker, refOrId), ctx);
    if (r.exitCode !== 0) {
      if (/no such (image|object)/i.test(`${r.stderr}${r.stdout}`)) return undefined;
      throw failure(`\`docker image inspect ${refOrId}\``, r);
    }
    const id = r.stdout.trim();
    return cmd.isImageId(id) ? id : undefined;
  }

  /** What runs now, as a release rollback can return to. */
  function releaseOf(state: FileState, c: ContainerInfo): ReleaseData | undefined {
    const ref = c.Config.Image;
    let version: string | undefined;
    if (state.mode.kind === 'variable') version = extractVariable(state.compose.segments, state.mode.name, ref, lookupFor(state));
    else version = imageTag(ref);
    if (version === undefined || !/^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$/.test(version)) return undefined;
    return { version, artifact: { image: ref, imageId: c.Image } };
  }

  /** Writes the version into the env file or the compose file (backed up first); returns how to undo it. */
  async function applyVersion(ctx: ProviderContext, setup: Setup, state: FileState, version: string): Promise<() => Promise<void>> {
    if (state.mode.kind === 'variable') {
      const before = state.envText;
      const backup = await replaceFile(setup.envFile, setEnvVariable(before ?? '', state.mode.name, version));
      ctx.log(`set ${state.mode.name}=${version} in ${setup.envFile}${backup ? ` (backup ${backup})` : ''}`);
      return async () => {
        if (before === undefined) await fs.rm(setup.envFile, { force: true });
        else await writeFileAtomic(setup.envFile, before);
      };
    }
    const before = state.composeText;
    const updated = setServiceImage(before, setup.composeFile, setup.service, replaceImageTag(state.compose.image, version));
    const backup = await replaceFile(setup.composeFile, updated);
    ctx.log(`set the image tag of "${setup.service}" to ${version} in ${setup.composeFile}${backup ? ` (backup ${backup})` : ''}`);
    return () => writeFileAtomic(setup.composeFile, before);
  }

  async function pullImage(ctx: ProviderContext, setup: Setup, inv: ComposeInvocation, ref: string): Promise<void> {
    const mode = setup.cfg.pull;
    if (mode === 'never') {
      ctx.log(`pull: never; using the local image ${ref}`);
      return;
    }
    ctx.log(`pulling ${ref}`);
    const r = await run(cmd.pull(inv, setup.service), ctx);
    if (r.exitCode === 0) return;
    if (mode === 'always') throw failure(`pulling ${ref} (pull: always)`, r);
    const local = await localImageId(ctx, setup, ref);
    if (!local) {
      throw failure(`pulling ${ref} (and the image is not present locally)`, r);
    }
    ctx.log(`pull of ${ref} failed (${tail(r.stderr || r.stdout, 200)}); carrying on with the local image ${local.slice(0, 19)}`);
  }

  async function upService(ctx: ProviderContext, setup: Setup, inv: ComposeInvocation): Promise<void> {
    const r = await run(cmd.up(inv, setup.service), ctx);
    if (r.exitCode !== 0) throw failure(`starting "${setup.service}"`, r);
  }

  function url(ctx: ProviderContext): string | undefined {
    const hc = ctx.target.healthCheck;
    return hc?.type === 'http' ? httpCheckUrl(hc) : undefined;
  }

  async function release(
    ctx: ProviderContext,
    version: string,
    pull: boolean,
    prepareImage?: (setup: Setup, ref: string) => Promise<void>,
  ): Promise<DeployStarted> {
    const { setup, state, inv, cli: compose } = await prepare(ctx);
    checkVersion(state, version);
    const ref = imageFor(setup, state, version);
    // What runs now, read before anything changes.
    const current = await findContainer(ctx, setup, inv);
    const previous = current ? releaseOf(state, current) : undefined;
    if (current && !previous) ctx.log(`cannot tell which version ${current.Config.Image} is; no previous release recorded`);
    if (prepareImage) await prepareImage(setup, ref);
    const undo = await applyVersion(ctx, setup, state, version);
    const newState = await readState(setup);
    const newInv = composeInvocation(setup, newState, compose);
    if (pull) {
      try {
        await pullImage(ctx, setup, newInv, ref);
      } catch (err) {
        await undo();
        ctx.log(`restored the previous version setting (${describeMode(setup, state.mode)})`);
        throw err;
      }
    }
    ctx.log(`starting "${setup.service}" with ${ref} (${compose.kind === 'v2' ? 'docker compose' : 'docker-compose'})`);
    await upService(ctx, setup, newInv);
    const imageId = await localImageId(ctx, setup, ref);
    if (!imageId) throw new Error(`image ${ref} is not present after \`up\``);
    const u = url(ctx);
    return {
      version,
      release: { version, artifact: { image: ref, imageId } },
      ...(previous ? { previous } : {}),
      ...(u ? { url: u } : {}),
    };
  }

  const provider: Provider = {
    name: 'docker_compose',

    async preflight(ctx) {
      const checks: PreflightCheck[] = [];
      let setup: Setup | undefined;
      try {
        setup = resolveSetup(ctx.target);
        checks.push({ name: 'config', ok: true, detail: `service "${setup.service}" of ${setup.composeFile}` });
      } catch (err) {
        checks.push({ name: 'config', ok: false, detail: err instanceof Error ? err.message : String(err) });
        return { ok: false, checks };
      }
      try {
        const c = await cli(ctx);
        checks.push({ name: 'compose-cli', ok: true, detail: `${c.argv.join(' ')}: ${c.version}` });
      } catch (err) {
        checks.push({ name: 'compose-cli', ok: false, detail: err instanceof Error ? err.message : String(err) });
      }
      try {
        const r = await run(cmd.engineVersion(setup.docker), ctx);
        const where = setup.cfg.docker_host ?? process.env.DOCKER_HOST ?? 'the default socket';
        checks.push(
          r.exitCode === 0
            ? { name: 'docker-engine', ok: true, detail: `Docker engine ${r.stdout.trim()} answers at ${where}` }
            : { name: 'docker-engine', ok: false, detail: `the Docker engine at ${where} does not answer: ${tail(r.stderr || r.stdout, 300)}` },
        );
      } catch (err) {
        checks.push({ name: 'docker-engine', ok: false, detail: err instanceof Error ? err.message : String(err) });
      }
      let state: FileState | undefined;
      try {
        state = await readState(setup);
        checks.push({
          name: 'compose-file',
          ok: true,
          detail: `service "${setup.service}" has image ${state.compose.image}; ${describeMode(setup, state.mode)}`,
        });
      } catch (err) {
        checks.push({ name: 'compose-file', ok: false, detail: err instanceof Error ? err.message : String(err) });
      }
      if (state) {
        const file = state.mode.kind === 'variable' ? setup.envFile : setup.composeFile;
        const exists = state.mode.kind === 'variable' ? state.envText !== undefined : true;
        try {
          await fs.access(exists ? file : path.dirname(file), fsConstants.W_OK);
          await fs.access(path.dirname(file), fsConstants.W_OK);
          checks.push({ name: 'version-file', ok: true, detail: `${file} is writable${exists ? '' : ' (will be created)'}` });
        } catch (err) {
          checks.push({
            name: 'version-file',
            ok: false,
            detail: `${exists ? file : path.dirname(file)} is not writable (fraisier writes the version there and a temp file and backups beside it): ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          });
        }
      }
      return { ok: checks.every((c) => c.ok), checks } satisfies PreflightReport;
    },

    async deploy(ctx, version) {
      validateVersion(version);
      return release(ctx, version, true);
    },

    async rollback(ctx, rel) {
      const version = validateVersion(rel.version);
      const recordedId = rel.artifact.imageId;
      return release(ctx, version, false, async (setup, ref) => {
        const refId = await localImageId(ctx, setup, ref);
        const idPresent = recordedId && cmd.isImageId(recordedId) ? await localImageId(ctx, setup, recordedId) : undefined;
        if (rel.artifact.image && rel.artifact.image !== ref) {
          ctx.log(`the release was recorded as ${rel.artifact.image}; the compose file now gives ${ref}`);
        }
        if (idPresent && refId !== idPresent) {
          const r = await run(cmd.tag(setup.docker, idPresent, ref), ctx);
          if (r.exitCode !== 0) throw failure(`\`docker tag ${idPresent} ${ref}\``, r);
          ctx.log(`${ref} ${refId ? `pointed at ${refId.slice(0, 19)}` : 'was gone'}; tagged the recorded image ${idPresent.slice(0, 19)} as ${ref}`);
          return;
        }
        if (!refId) {
          throw new ProviderInputError(
            `cannot roll back to ${version}: neither ${ref} nor the recorded image ${recordedId ?? '(none recorded)'} is present on the Docker host, and rollback never rebuilds or pulls; deploy ${version} instead`,
          );
        }
      });
    },

    async readiness(ctx, started) {
      const { setup, inv } = await prepare(ctx);
      const c = await findContainer(ctx, setup, inv);
      if (!c) return { state: 'failed', detail: `service "${setup.service}" has no container` } satisfies Readiness;
      const expected = started.release.artifact.imageId;
      if (expected && c.Image !== expected) {
        return {
          state: 'failed',
          detail: `container ${c.Id.slice(0, 12)} runs image ${c.Image.slice(0, 19)} (${c.Config.Image}), not the release's ${expected.slice(0, 19)} (${started.release.artifact.image ?? started.version}); another deploy may have replaced it`,
        };
      }
      const v = containerVerdict(c);
      if (v.state === 'ready') {
        const u = url(ctx) ?? started.url;
        return { state: 'ready', detail: v.detail, ...(u ? { url: u } : {}) };
      }
      return { state: v.state, detail: v.detail };
    },

    async health(ctx): Promise<HealthReport> {
      const { setup, inv } = await prepare(ctx);
      const c = await findContainer(ctx, setup, inv);
      if (!c) return { ok: false, source: 'provider', detail: `service "${setup.service}" has no container` };
      const v = containerVerdict(c);
      if (v.hasHealthcheck && c.State.Running) return { ok: v.state === 'ready', source: 'container', detail: v.detail };
      if (!c.State.Running) return { ok: false, source: 'provider', detail: v.detail };
      const hc = ctx.target.healthCheck;
      if (hc) return probeHealth(hc, { signal: ctx.signal });
      return { ok: true, source: 'none', detail: `${v.detail}; no health check configured` };
    },

    async status(ctx): Promise<ServiceStatus> {
      const { setup, state, inv } = await prepare(ctx);
      const c = await findContainer(ctx, setup, inv);
      if (!c) return { state: 'absent', detail: `service "${setup.service}" has no container` };
      const version = releaseOf(state, c)?.version;
      const v = containerVerdict(c);
      const u = url(ctx);
      const base = { ...(version ? { version } : {}), detail: v.detail };
      if (!c.State.Running) {
        return { state: c.State.Status === 'restarting' || c.State.Status === 'created' ? 'starting' : 'stopped', ...base };
      }
      const health = c.State.Health?.Status;
      if (health === 'unhealthy') return { state: 'unhealthy', ...base };
      if (health === 'starting') return { state: 'starting', ...base };
      return { state: 'running', ...base, ...(u ? { url: u } : {}) };
    },

    async logs(ctx, tailLines) {
      const { setup, inv } = await prepare(ctx);
      const r = await run(cmd.logs(inv, setup.service, tailLines), ctx);
      if (r.exitCode !== 0) throw failure(`reading the logs of "${setup.service}"`, r);
      return r.stdout;
    },

    async start(ctx) {
      const { setup, inv } = await prepare(ctx);
      await upService(ctx, setup, inv);
    },

    async stop(ctx) {
      const { setup, inv } = await prepare(ctx);
      const r = await run(cmd.stop(inv, setup.service), ctx);
      if (r.exitCode !== 0) throw failure(`stopping "${setup.service}"`, r);
    },

    async remove(ctx) {
      const setup = resolveSetup(ctx.target);
      const compose = await cli(ctx);
      let state: FileState;
      try {
        state = await readState(setup);
      } catch (err) {
        if (!(err instanceof ProviderInputError)) throw err;
        // The compose file is gone or no longer has the service: find the containers by their compose labels.
        const docker: DockerInvocation = { env: setup.docker.env };
        const project = setup.cfg.project_name ?? defaultProjectName(setup.composeDir);
        ctx.log(`${err.message}; removing by compose labels (project ${project}, service ${setup.service})`);
        const r = await run(cmd.containersByLabels(docker, project, setup.service), ctx);
        if (r.exitCode !== 0) throw failure(`listing the containers of "${setup.service}"`, r);
        const ids = r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{12,64}$/.test(l));
        if (ids.length === 0) return;
        const rr = await run(cmd.removeContainers(docker, ids), ctx);
        if (rr.exitCode !== 0 && !/no such container/i.test(rr.stderr)) throw failure(`removing the containers of "${setup.service}"`, rr);
        return;
      }
      const r = await run(cmd.rm(composeInvocation(setup, state, compose), setup.service), ctx);
      if (r.exitCode !== 0) throw failure(`removing the containers of "${setup.service}"`, r);
      ctx.log(`removed the containers of "${setup.service}" (images and files are kept)`);
    },
  };
  return provider;
}
