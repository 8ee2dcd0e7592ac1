/** docker_compose pre-flight: config, compose CLI, Docker engine, compose file, writable version file. Changes nothing. */
import { promises as fs, constants as fsConstants } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { DockerComposeConfig } from '../../../config/providers/docker_compose';
import type { PreflightCheck, PreflightReport } from '../../../domain/release';
import type { ProviderContext } from '../contract';
import * as cmd from './commands';
import { tail } from './containers';
import type { DockerAccess } from './docker';
import { resolveSetup, type Setup } from './setup';
import { describeMode, readState, type FileState } from './versionFile';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function preflight(ctx: ProviderContext<DockerComposeConfig>, docker: DockerAccess, env: Readonly<Record<string, string | undefined>>): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [];
  let setup: Setup;
  try {
    setup = resolveSetup(ctx);
    checks.push({ name: 'config', ok: true, detail: `service "${setup.service}" of ${setup.composeFile} (worker ${hostname()})` });
  } catch (err) {
    checks.push({ name: 'config', ok: false, detail: message(err) });
    return { ok: false, checks };
  }
  try {
    const c = await docker.cli(ctx);
    checks.push({ name: 'compose-cli', ok: true, detail: `${c.argv.join(' ')}: ${c.version}` });
  } catch (err) {
    checks.push({ name: 'compose-cli', ok: false, detail: message(err) });
  }
  try {
    const r = await ctx.run(cmd.engineVersion(setup.docker));
    const where = setup.cfg.docker_host ?? env.DOCKER_HOST ?? 'the default socket';
    checks.push(
      r.exitCode === 0
        ? { name: 'docker-engine', ok: true, detail: `Docker engine ${r.stdout.trim()} answers at ${where}` }
        : { name: 'docker-engine', ok: false, detail: `the Docker engine at ${where} does not answer: ${tail(r.stderr || r.stdout, 300)}` },
    );
  } catch (err) {
    checks.push({ name: 'docker-engine', ok: false, detail: message(err) });
  }
  let state: FileState | undefined;
  try {
    state = await readState(setup);
    checks.push({ name: 'compose-file', ok: true, detail: `service "${setup.service}" has image ${state.compose.image}; ${describeMode(setup, state.mode)}` });
  } catch (err) {
    checks.push({ name: 'compose-file', ok: false, detail: message(err) });
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
  return { ok: checks.every((c) => c.ok), checks };
}
