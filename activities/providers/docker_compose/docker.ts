/** Finding things on the Docker host: the compose CLI, the service's container, local images. */
import { z } from 'zod';
import type { DockerComposeConfig } from '../../../config/providers/docker_compose';
import { ProviderInputError, type ProviderContext } from '../contract';
import * as cmd from './commands';
import type { ComposeCli, ComposeCliKind, ComposeInvocation } from './commands';
import { containerIds, containerSchema, failure, tail, type ContainerInfo } from './containers';
import type { Setup } from './setup';

type Ctx = ProviderContext<DockerComposeConfig>;

export interface DockerAccess {
  /** The compose CLI of this worker (v2 plugin, else v1), detected once. */
  cli(ctx: Ctx): Promise<ComposeCli>;
  /** The service's newest container, stopped ones included; undefined when there is none. */
  findContainer(ctx: Ctx, setup: Setup, inv: ComposeInvocation): Promise<ContainerInfo | undefined>;
  /** The id (`sha256:…`) of a local image, or undefined when it is not on the host. */
  localImageId(ctx: Ctx, setup: Setup, refOrId: string): Promise<string | undefined>;
}

export function createDockerAccess(only?: ComposeCliKind): DockerAccess {
  let cliPromise: Promise<ComposeCli> | undefined;

  async function detectCli(ctx: Ctx): Promise<ComposeCli> {
    const kinds: ComposeCliKind[] = only ? [only] : ['v2', 'v1'];
    const tried: string[] = [];
    for (const kind of kinds) {
      const argv = cmd.COMPOSE_CLI_ARGV[kind];
      try {
        const r = await ctx.run(cmd.composeVersion(kind));
        const out = `${r.stdout}\n${r.stderr}`.trim();
        if (r.exitCode === 0 && /compose/i.test(out)) return { kind, argv, version: out.split('\n')[0] ?? out };
        tried.push(`\`${argv.join(' ')} version\` exited ${r.exitCode}${out ? `: ${tail(out, 200)}` : ''}`);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        tried.push(`\`${argv.join(' ')} version\` could not run: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const wanted = only ? `the ${only} compose CLI` : 'neither `docker compose` (v2 plugin) nor `docker-compose` (v1)';
    throw new ProviderInputError(`${wanted} is available on this worker (${tried.join('; ')}); install Docker Compose`);
  }

  return {
    cli(ctx) {
      cliPromise ??= detectCli(ctx).catch((err: unknown) => {
        cliPromise = undefined;
        throw err;
      });
      return cliPromise;
    },

    async findContainer(ctx, setup, inv) {
      const r = await ctx.run(cmd.ps(inv, setup.service));
      if (r.exitCode !== 0) throw failure(`listing the containers of "${setup.service}"`, r);
      const ids = containerIds(r.stdout);
      if (ids.length === 0) return undefined;
      const ir = await ctx.run(cmd.inspectContainer(setup.docker, ids));
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
    },

    async localImageId(ctx, setup, refOrId) {
      const r = await ctx.run(cmd.imageInspect(setup.docker, refOrId));
      if (r.exitCode !== 0) {
        if (/no such (image|object)/i.test(`${r.stderr}${r.stdout}`)) return undefined;
        throw failure(`\`docker image inspect ${refOrId}\``, r);
      }
      const id = r.stdout.trim();
      return cmd.isImageId(id) ? id : undefined;
    },
  };
}
