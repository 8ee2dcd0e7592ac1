/** Where a docker_compose target's files are, and how docker is reached, from its parsed config. */
import path from 'node:path';
import type { DockerComposeConfig } from '../../../config/providers/docker_compose';
import { ProviderInputError, type ProviderContext } from '../contract';
import type { DockerInvocation } from './commands';

export interface Setup {
  cfg: DockerComposeConfig;
  composeFile: string;
  composeDir: string;
  envFile: string;
  envFileConfigured: boolean;
  service: string;
  docker: DockerInvocation;
}

/** The project name compose derives from the compose file's directory when none is given. */
export function defaultProjectName(composeDir: string): string {
  return path.basename(composeDir).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[^a-z0-9]+/, '');
}

/** The client sends absolute paths (resolved against fraises.yaml's directory); a relative one here is refused. */
function absolute(key: 'compose_file' | 'env_file', value: string, ctx: ProviderContext<DockerComposeConfig>): string {
  if (path.isAbsolute(value)) return value;
  throw new ProviderInputError(
    `${key} ${JSON.stringify(value)} of ${ctx.target.fraise}/${ctx.target.environment} is relative: the worker needs an absolute path (the fraisier CLI resolves it against fraises.yaml's directory; a client that builds targets itself must do the same)`,
  );
}

export function resolveSetup(ctx: ProviderContext<DockerComposeConfig>): Setup {
  const cfg = ctx.config;
  const composeFile = absolute('compose_file', cfg.compose_file, ctx);
  const composeDir = path.dirname(composeFile);
  const envFile = cfg.env_file ? absolute('env_file', cfg.env_file, ctx) : path.join(composeDir, '.env');
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

/** The compose project the target's containers belong to. */
export function projectName(setup: Setup): string {
  return setup.cfg.project_name ?? defaultProjectName(setup.composeDir);
}
