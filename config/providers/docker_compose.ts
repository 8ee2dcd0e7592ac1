import { z } from 'zod';

/** `config:` of an environment whose provider is docker_compose. */
export const dockerComposeConfigSchema = z
  .strictObject({
    compose_file: z.string().min(1).describe('Compose file, relative to fraises.yaml or absolute; read and written on the worker\'s machine.'),
    service_name: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a compose service name: letters, digits, "_", "." and "-", not starting with "-"')
      .describe('The service in the compose file that this fraise deploys.'),
    project_name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, "_" and "-", starting with a letter or digit')
      .optional()
      .describe('Compose project name (default: compose decides, from the directory name).'),
    version_variable: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .optional()
      .describe('Variable the image reference uses, e.g. VERSION for `image: app:${VERSION}`; written to env_file. Default: the variable found in the service image, else the image tag is rewritten.'),
    env_file: z.string().min(1).optional().describe('Env file holding version_variable, relative to fraises.yaml or absolute (default: .env beside the compose file).'),
    pull: z.enum(['auto', 'always', 'never']).default('auto').describe('auto: pull, and carry on with the local image when no registry answers.'),
    docker_host: z.string().optional().describe('DOCKER_HOST for this target, e.g. unix:///var/run/docker.sock or ssh://deploy@host.'),
  })
  .describe('Docker Compose on a Docker host.');

export type DockerComposeConfig = z.infer<typeof dockerComposeConfigSchema>;

/** What Docker accepts as an image tag: docker_compose narrows the version rule to it (no "+"). */
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Null when `version` can be a Docker image tag, else what is wrong and what to use. */
export function dockerTagProblem(provider: string, version: string): string | null {
  return DOCKER_TAG.test(version)
    ? null
    : `${provider} deploys the version as a Docker image tag, and a tag has only letters, digits, ".", "_" and "-" (no "+"): use e.g. ${version.replace(/\+/g, '-')}`;
}
