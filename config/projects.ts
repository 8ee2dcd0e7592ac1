/**
 * `projects:` of fraises.yaml: how each project's stack is made (its compose template, the secrets generated for
 * it, the host ports it gets, its URLs and health check) and where it runs (backend). Validated with the rest of
 * the file; resolveProjects gives the settings the workflows receive.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  maskUrlPassword,
  placeholderNames,
  replacePlaceholders,
  DEFAULT_COOLIFY_PROJECT,
  PROJECT_BACKENDS,
  PROJECT_ID_VARIABLE,
  SECRET_KINDS,
  SECRET_MAX_LENGTH,
  SECRET_MIN_LENGTH,
  type ProjectBackend,
  type ProjectBackendChoice,
  type ProjectsSettings,
} from '../domain/projects';
import { ConfigError } from './errors';
import { durationSchema, expectedStatusSchema, urlPathSchema } from './fields';
import { allowed } from './hints';

export const DEFAULT_PORT_RANGE = { from: 20_000, to: 29_999 } as const;
export const DEFAULT_SECRET_LENGTH = 32;
export const DEFAULT_PROJECT_READY_SECONDS = 120;

const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;
const VARIABLE_RULE = 'an upper-case variable name: A-Z, 0-9 and "_", starting with a letter (e.g. DB_PASSWORD)';
const variableName = (what: string) => allowed(z.string().regex(VARIABLE_NAME), VARIABLE_RULE).describe(what);

const portNumber = allowed(z.int().min(1).max(65_535), 'an integer from 1 to 65535');

const secretSchema = z
  .strictObject({
    name: variableName('Variable the secret is given as, in the template and the URLs, e.g. DB_PASSWORD.'),
    kind: z.enum(SECRET_KINDS).describe('password (letters and digits without look-alikes), hex, base64 (URL-safe) or uuid.'),
    length: allowed(z.int().min(SECRET_MIN_LENGTH).max(SECRET_MAX_LENGTH), `an integer from ${SECRET_MIN_LENGTH} to ${SECRET_MAX_LENGTH}`)
      .default(DEFAULT_SECRET_LENGTH)
      .describe(`Characters (default ${DEFAULT_SECRET_LENGTH}); a uuid ignores it.`),
  })
  .describe('A secret generated once for each project, kept encrypted in the records.');

const portRangeSchema = z
  .strictObject({
    from: portNumber.describe('First host port that may be given to a project.'),
    to: portNumber.describe('Last host port that may be given to a project.'),
  })
  .refine((r) => r.from <= r.to, { message: 'from is after to', params: { allowed: 'from <= to, e.g. { from: 20000, to: 29999 }' } })
  .describe(`Host ports projects are given from (default ${DEFAULT_PORT_RANGE.from} to ${DEFAULT_PORT_RANGE.to}).`);

const urlTemplate = (what: string, example: string) =>
  allowed(z.string().min(1), `a URL template such as ${example}, using \${PROJECT_ID}, the ports and the secrets`).describe(
    `${what}, a template over \${PROJECT_ID}, the declared ports and secrets, e.g. ${example}.`,
  );

const projectHealthCheckSchema = z
  .strictObject({
    path: urlPathSchema()
      .default('/')
      .describe('Path probed on api_url (default /).'),
    expected_status: expectedStatusSchema(),
    timeout: durationSchema('How long to keep probing before the stack is declared unhealthy', 60),
    interval: durationSchema('Pause between two probes', 2),
  })
  .describe("Health check of a project's stack: an HTTP GET of path on its api_url.");

const coolifyUuid = (what: string) =>
  allowed(z.string().regex(/^[a-z0-9]{1,64}$/), "a Coolify uuid: lowercase letters and digits, as Coolify shows it (e.g. k0c8sg4ww8k4okgowkc4g8ok)").describe(what);

const projectsCoolifySchema = z
  .strictObject({
    server_uuid: coolifyUuid("Uuid of the Coolify server every project's stack runs on (Servers, in Coolify)."),
    destination_uuid: coolifyUuid('Uuid of the destination (Docker network) on that server; only when it has several.').optional(),
    project: allowed(z.string().min(1).max(255), 'the name or uuid of a Coolify project, e.g. fraisier-projects')
      .default(DEFAULT_COOLIFY_PROJECT)
      .describe(`Coolify project holding every project (tenant), each in its own environment fraisier-project-<id>; created when absent (default ${DEFAULT_COOLIFY_PROJECT}).`),
  })
  .describe('Where projects go on Coolify: needed when backend is coolify (or auto, on a worker with COOLIFY_API_URL and COOLIFY_API_TOKEN).');

export const projectsSchema = z
  .strictObject({
    template: z.string().min(1).describe("Compose template of a project's stack, relative to fraises.yaml or absolute; read on the worker's machine."),
    secrets: z.array(secretSchema).default([]).describe('Secrets generated for each project.'),
    ports: z.array(variableName('Name of a host port, e.g. API_PORT.')).default([]).describe('Host ports allocated to each project, by name (e.g. API_PORT, DB_PORT); never two projects on one port.'),
    port_range: portRangeSchema.default({ ...DEFAULT_PORT_RANGE }),
    api_url: urlTemplate("URL of a project's API", 'http://127.0.0.1:${API_PORT}').optional(),
    db_url: urlTemplate("URL of a project's database", 'postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app').optional(),
    health_check: projectHealthCheckSchema.optional(),
    backend: z
      .enum([...PROJECT_BACKENDS, 'auto'])
      .default('auto')
      .describe('local (docker compose), coolify, or auto: coolify when the worker has COOLIFY_API_URL and COOLIFY_API_TOKEN, else local.'),
    ready_timeout: durationSchema("Bound on waiting for a project's stack to come up", DEFAULT_PROJECT_READY_SECONDS),
    coolify: projectsCoolifySchema.optional(),
  })
  .superRefine((value, ctx) => {
    const seen = new Map<string, string>([[PROJECT_ID_VARIABLE, 'the project id']]);
    const declare = (name: string, where: PropertyKey[], what: string) => {
      const before = seen.get(name);
      if (before !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: where,
          input: name,
          message: `${name} is already ${before}`,
          params: { allowed: `a name not used by another secret or port, nor ${PROJECT_ID_VARIABLE}` },
        });
      } else {
        seen.set(name, what);
      }
    };
    value.secrets.forEach((s, i) => declare(s.name, ['secrets', i, 'name'], `the name of secrets[${i}]`));
    value.ports.forEach((p, i) => declare(p, ['ports', i], `the name of ports[${i}]`));
    const known = [...value.ports, ...value.secrets.map((s) => s.name), PROJECT_ID_VARIABLE].join(', ');
    for (const key of ['api_url', 'db_url'] as const) {
      const template = value[key];
      if (template === undefined) continue;
      const unknown = placeholderNames(template).filter((name) => !seen.has(name));
      for (const name of unknown) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          input: template,
          message: `\${${name}} is not a declared port, secret or ${PROJECT_ID_VARIABLE}`,
          params: { allowed: `\${NAME} of a declared port or secret, or \${${PROJECT_ID_VARIABLE}}: ${known}` },
        });
      }
      if (unknown.length === 0 && !urlWithSamples(template, value.ports, key === 'api_url')) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          input: template,
          message: `is not ${key === 'api_url' ? 'an http:// or https:// URL' : 'a URL'} once its variables are replaced`,
          params: { allowed: key === 'api_url' ? 'a URL template such as http://127.0.0.1:${API_PORT}' : 'a URL template such as postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app' },
        });
      }
    }
    if (value.ports.length > value.port_range.to - value.port_range.from + 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['port_range'],
        input: value.port_range,
        message: `holds ${value.port_range.to - value.port_range.from + 1} ports, fewer than the ${value.ports.length} each project needs`,
        params: { allowed: 'a range with room for many projects, e.g. { from: 20000, to: 29999 }' },
      });
    }
    if (value.backend === 'coolify' && value.coolify === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['coolify'],
        input: value.coolify,
        message: 'missing: backend is coolify, which needs the server the stacks run on',
        params: { allowed: 'coolify: { server_uuid: <uuid of a Coolify server> }' },
      });
    }
    if (value.health_check !== undefined && value.api_url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['health_check'],
        input: value.health_check,
        message: 'given without api_url, which it probes',
        params: { allowed: 'health_check together with api_url' },
      });
    }
  })
  .describe("Projects (tenants): each gets its own stack, made from a compose template with secrets generated for it.")
  .meta({ id: 'Projects', title: 'Projects' });

/** True when the template is a URL once each variable is replaced by a sample value (a port number, letters). */
function urlWithSamples(template: string, ports: readonly string[], http: boolean): boolean {
  const sample = replacePlaceholders(template, (name) => (ports.includes(name) ? '20000' : 'sample'));
  let url: URL;
  try {
    url = new URL(sample);
  } catch {
    return false;
  }
  return !http || url.protocol === 'http:' || url.protocol === 'https:';
}

export type ProjectsEntry = z.output<typeof projectsSchema>;

/**
 * The settings the workflows receive: the template's path made absolute against the directory of fraises.yaml
 * (`~/…` is left for the worker), camelCase, durations in seconds. Throws a ConfigError when the file has no
 * `projects:` section.
 */
export function resolveProjects(config: { file: string; configDir: string; projects?: ProjectsEntry | undefined }): ProjectsSettings {
  const entry = config.projects;
  if (!entry) {
    throw new ConfigError(config.file, [
      { path: 'projects', message: 'no projects section', allowed: 'a projects: mapping with at least template (see "projects" in the README)' },
    ]);
  }
  const template = path.isAbsolute(entry.template) || entry.template.startsWith('~') ? entry.template : path.resolve(config.configDir, entry.template);
  return {
    template,
    secrets: entry.secrets.map((s) => ({ name: s.name, kind: s.kind, length: s.length })),
    ports: [...entry.ports],
    portRange: { from: entry.port_range.from, to: entry.port_range.to },
    apiUrl: entry.api_url ?? null,
    dbUrl: entry.db_url ?? null,
    healthCheck: entry.health_check
      ? {
          path: entry.health_check.path,
          expectedStatus: entry.health_check.expected_status,
          timeoutSeconds: entry.health_check.timeout,
          intervalSeconds: entry.health_check.interval,
        }
      : null,
    backend: entry.backend,
    readyTimeoutSeconds: entry.ready_timeout,
    coolify: entry.coolify
      ? { serverUuid: entry.coolify.server_uuid, destinationUuid: entry.coolify.destination_uuid ?? null, project: entry.coolify.project }
      : null,
  };
}

const COOLIFY_URL_ENV = 'COOLIFY_API_URL';
const COOLIFY_TOKEN_ENV = 'COOLIFY_API_TOKEN';

/**
 * Where projects run, and why, in a sentence for `fraisier providers`: `auto` is coolify when the worker's
 * environment has both COOLIFY_API_URL and COOLIFY_API_TOKEN, else local. The token is never in the reason.
 */
export function chooseBackend(configured: ProjectBackendChoice, env: NodeJS.ProcessEnv): { backend: ProjectBackend; reason: string } {
  const url = env[COOLIFY_URL_ENV]?.trim() ?? '';
  const token = env[COOLIFY_TOKEN_ENV]?.trim() ?? '';
  const missing = [url === '' ? COOLIFY_URL_ENV : '', token === '' ? COOLIFY_TOKEN_ENV : ''].filter((n) => n !== '');
  const at = url === '' ? '' : ` at ${maskUrlPassword(url)}`;
  if (configured === 'local') return { backend: 'local', reason: 'projects run on the local Docker host with docker compose: projects.backend is local' };
  if (configured === 'coolify') {
    return missing.length === 0
      ? { backend: 'coolify', reason: `projects run on Coolify${at}: projects.backend is coolify` }
      : {
          backend: 'coolify',
          reason: `projects run on Coolify (projects.backend is coolify), but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: set ${missing.length > 1 ? 'them' : 'it'} in the worker's environment`,
        };
  }
  return missing.length === 0
    ? { backend: 'coolify', reason: `projects run on Coolify${at}: projects.backend is auto and ${COOLIFY_URL_ENV} and ${COOLIFY_TOKEN_ENV} are set` }
    : {
        backend: 'local',
        reason: `projects run on the local Docker host with docker compose: projects.backend is auto and ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set (set both ${COOLIFY_URL_ENV} and ${COOLIFY_TOKEN_ENV} to use Coolify)`,
      };
}
