/**
 * Docker Compose provider: deploys one service of a compose project by setting its version (an env variable the
 * image uses, or the image tag in the compose file), pulling, and `up -d --no-deps`. Every command is built in
 * ./commands and run through ctx.run; the pieces: setup (paths), versionFile (where the version lives),
 * docker (CLI, containers, images), containers (verdicts), preflight, prune, targetState.
 */
import { dockerTagProblem, type DockerComposeConfig } from '../../../config/providers/docker_compose';
import { validateVersion } from '../../../domain/names';
import type { DeployStarted, HealthReport, Readiness, ReleaseData, ServiceStatus } from '../../../domain/release';
import { httpCheckUrl, probeHealth } from '../../health/index';
import { ProviderInputError, type Provider, type ProviderContext, type ProviderDeps } from '../contract';
import * as cmd from './commands';
import type { ComposeCliKind, ComposeInvocation } from './commands';
import { containerIds, containerVerdict, failure, tail } from './containers';
import { createDockerAccess } from './docker';
import { preflight } from './preflight';
import { pruneImages } from './prune';
import { projectName, resolveSetup, type Setup } from './setup';
import { loadComposeState, rememberDeployed } from './targetState';
import { applyVersion, composeInvocation, describeMode, imageFor, readState, releaseOf, type FileState } from './versionFile';

export { defaultProjectName } from './setup';

type Ctx = ProviderContext<DockerComposeConfig>;

export interface DockerComposeProviderOptions {
  /** Use this compose CLI instead of detecting one (v2 plugin first, then v1). */
  cli?: ComposeCliKind;
}

/** The one version rule, narrowed to Docker tags (config/providers/docker_compose.ts): what the client checks too. */
function checkVersion(version: string): string {
  const problem = validateVersion(version) ?? dockerTagProblem('docker_compose', version);
  if (problem) throw new ProviderInputError(problem);
  return version;
}

export function createDockerComposeProvider(deps: ProviderDeps, options: DockerComposeProviderOptions = {}): Provider<DockerComposeConfig> {
  const docker = createDockerAccess(options.cli);

  async function prepare(ctx: Ctx): Promise<{ setup: Setup; state: FileState; inv: ComposeInvocation }> {
    const setup = resolveSetup(ctx);
    const compose = await docker.cli(ctx);
    const state = await readState(setup);
    return { setup, state, inv: composeInvocation(setup, state, compose) };
  }

  async function pullImage(ctx: Ctx, setup: Setup, inv: ComposeInvocation, ref: string): Promise<void> {
    const mode = setup.cfg.pull;
    if (mode === 'never') {
      ctx.log(`pull: never; using the local image ${ref}`);
      return;
    }
    ctx.log(`pulling ${ref}`);
    const r = await ctx.run(cmd.pull(inv, setup.service));
    if (r.exitCode === 0) return;
    if (mode === 'always') throw failure(`pulling ${ref} (pull: always)`, r);
    const local = await docker.localImageId(ctx, setup, ref);
    if (!local) throw failure(`pulling ${ref} (and the image is not present locally)`, r);
    ctx.log(`pull of ${ref} failed (${tail(r.stderr || r.stdout, 200)}); carrying on with the local image ${local.slice(0, 19)}`);
  }

  async function upService(ctx: Ctx, setup: Setup, inv: ComposeInvocation): Promise<void> {
    const r = await ctx.run(cmd.up(inv, setup.service));
    if (r.exitCode !== 0) throw failure(`starting "${setup.service}"`, r);
  }

  function url(ctx: Ctx): string | undefined {
    const hc = ctx.target.healthCheck;
    return hc?.type === 'http' ? httpCheckUrl(hc) : undefined;
  }

  /** Sets the version, pulls (deploy) or prepares the recorded image (rollback), and starts the service. */
  async function release(ctx: Ctx, version: string, pull: boolean, prepareImage?: (setup: Setup, ref: string) => Promise<void>): Promise<DeployStarted> {
    const { setup, state } = await prepare(ctx);
    const compose = await docker.cli(ctx);
    const ref = imageFor(setup, state, deps.env, version);
    if (prepareImage) await prepareImage(setup, ref);
    const undo = await applyVersion(setup, state, version, ctx.log);
    const newInv = composeInvocation(setup, await readState(setup), compose);
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
    await rememberDeployed(ctx.state, projectName(setup), ref);
    await upService(ctx, setup, newInv);
    const imageId = await docker.localImageId(ctx, setup, ref);
    if (!imageId) throw new Error(`image ${ref} is not present after \`up\``);
    const u = url(ctx);
    return { version, release: { version, artifact: { image: ref, imageId } }, ...(u ? { url: u } : {}) };
  }

  return {
    name: 'docker_compose',

    preflight: (ctx) => preflight(ctx, docker, deps.env),

    async deploy(ctx, version) {
      return release(ctx, checkVersion(version), true);
    },

    async rollback(ctx, rel: ReleaseData) {
      const version = checkVersion(rel.version);
      const recordedId = rel.artifact.imageId;
      return release(ctx, version, false, async (setup, ref) => {
        const refId = await docker.localImageId(ctx, setup, ref);
        const idPresent = recordedId && cmd.isImageId(recordedId) ? await docker.localImageId(ctx, setup, recordedId) : undefined;
        if (rel.artifact.image && rel.artifact.image !== ref) {
          ctx.log(`the release was recorded as ${rel.artifact.image}; the compose file now gives ${ref}`);
        }
        if (idPresent && refId !== idPresent) {
          const r = await ctx.run(cmd.tag(setup.docker, idPresent, ref));
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
      const c = await docker.findContainer(ctx, setup, inv);
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
      const c = await docker.findContainer(ctx, setup, inv);
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
      const c = await docker.findContainer(ctx, setup, inv);
      if (!c) return { state: 'absent', detail: `service "${setup.service}" has no container` };
      const version = releaseOf(state, deps.env, { ref: c.Config.Image, id: c.Image })?.version;
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
      const r = await ctx.run(cmd.logs(inv, setup.service, tailLines));
      if (r.exitCode !== 0) throw failure(`reading the logs of "${setup.service}"`, r);
      return r.stdout;
    },

    async cancel() {
      // Nothing runs on the Docker host outside the activity: cancelling the activity already killed its command.
      return { cancelled: false, detail: 'docker compose runs inside the activity, which the cancellation stopped: nothing queued to cancel' };
    },

    async prune(ctx, keep) {
      return pruneImages(ctx, docker, resolveSetup(ctx), keep);
    },

    async stop(ctx) {
      const { setup, inv } = await prepare(ctx);
      const r = await ctx.run(cmd.stop(inv, setup.service));
      if (r.exitCode !== 0) throw failure(`stopping "${setup.service}"`, r);
    },

    async start(ctx, current) {
      const { setup, inv } = await prepare(ctx);
      if (!(await docker.findContainer(ctx, setup, inv))) {
        throw new ProviderInputError(`service "${setup.service}" has no container to start (removed?): deploy a version instead`);
      }
      const r = await ctx.run(cmd.start(inv, setup.service));
      if (r.exitCode !== 0) throw failure(`starting "${setup.service}" again`, r);
      const u = url(ctx);
      // Readiness then checks that the container runs the recorded release's image.
      const release = current ?? { version: 'unknown', artifact: {} };
      return { version: release.version, release, ...(u ? { url: u } : {}) };
    },

    async remove(ctx) {
      const setup = resolveSetup(ctx);
      const compose = await docker.cli(ctx);
      let state: FileState;
      try {
        state = await readState(setup);
      } catch (err) {
        if (!(err instanceof ProviderInputError)) throw err;
        // The compose file is gone or no longer has the service: find the containers by their compose labels,
        // in the project they were deployed in (remembered), else the one compose would derive.
        const project = (await loadComposeState(ctx.state)).project ?? projectName(setup);
        ctx.log(`${err.message}; removing by compose labels (project ${project}, service ${setup.service})`);
        const docker0 = { env: setup.docker.env };
        const r = await ctx.run(cmd.containersByLabels(docker0, project, setup.service));
        if (r.exitCode !== 0) throw failure(`listing the containers of "${setup.service}"`, r);
        const ids = containerIds(r.stdout);
        if (ids.length === 0) return;
        const rr = await ctx.run(cmd.removeContainers(docker0, ids));
        if (rr.exitCode !== 0 && !/no such container/i.test(rr.stderr)) throw failure(`removing the containers of "${setup.service}"`, rr);
        return;
      }
      const r = await ctx.run(cmd.rm(composeInvocation(setup, state, compose), setup.service));
      if (r.exitCode !== 0) throw failure(`removing the containers of "${setup.service}"`, r);
      ctx.log(`removed the containers of "${setup.service}" (images and files are kept)`);
    },
  };
}
