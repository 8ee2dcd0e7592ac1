import { z } from 'zod';
import { findProvider, providerCatalogue, type ProviderEntry } from './providers/index';
import { allowed } from './hints';
import { HOST_PATTERN, NAME_MAX_LENGTH, NAME_RULE } from '../domain/names';
import { formatPath } from './errors';
import { durationSchema, expectedStatusSchema, optionalDurationSchema, urlPathSchema } from './fields';
import { projectsSchema } from './projects';

/*
 * The zod schema of fraises.yaml. Error messages are built by load.ts from the issues, the `allowed`
 * hints (config/hints.ts) and the descriptions; the descriptions also become the JSON Schema's.
 */

export const DEFAULT_RETAIN = 5;
export const DEFAULT_HEALTH_HOST = '127.0.0.1';

const HOST_RULE = 'a host name or IP address, not starting with "-"';

/** `^…$` pattern of fraise and environment names (same rule as validateName). */
const NAME_REGEX = new RegExp(`^(?!-)[a-z0-9_-]{1,${NAME_MAX_LENGTH}}$`);

export function nameSchema(kind: 'fraise' | 'environment') {
  return allowed(z.string().regex(NAME_REGEX), `${kind === 'environment' ? 'an' : 'a'} ${kind} name: ${NAME_RULE}`);
}

const portSchema = allowed(z.int().min(1).max(65_535), 'an integer from 1 to 65535');
const hostSchema = allowed(z.string().regex(HOST_PATTERN), HOST_RULE);

/** The longest `body` an http check may look for. */
export const HEALTH_BODY_MAX_LENGTH = 1024;

/** Providers that run commands on the target's own server, and so can probe from there. */
const serverProbingProviders = providerCatalogue.filter((p) => p.healthFromServer).map((p) => p.name);

const healthFromSchema = allowed(
  z.enum(['worker', 'server']),
  `worker, or server with a provider that runs commands on the target's server (${serverProbingProviders.join(', ')})`,
)
  .default('worker')
  .describe(
    `Where the probe runs from: worker (the fraisier worker, default) or server (the deploy target's own server, e.g. for an app listening on its loopback; only with ${serverProbingProviders.join(', ')}).`,
  );

/**
 * Why `health_check.from: server` is refused for `provider`, as the message and the "allowed" text of a problem
 * whose key path ends with `.from`. `inheritedBy` is the key path of an environment that inherits the check.
 */
export function healthFromServerRefusal(provider: string, inheritedBy?: string): { message: string; allowed: string } {
  const needs = `server needs a provider that runs commands on the target's server (${serverProbingProviders.join(', ')})`;
  if (inheritedBy === undefined) {
    return { message: `${needs}; ${provider} probes from the worker`, allowed: 'worker: remove from, or use from: worker' };
  }
  return {
    message: `${needs}; ${inheritedBy} inherits this check, and its provider ${provider} probes from the worker`,
    allowed: `worker: remove from, or use from: worker, or give ${inheritedBy} a health_check of its own`,
  };
}

const httpHealthCheckSchema = z
  .strictObject({
    type: z.literal('http'),
    url: allowed(z.url({ protocol: /^https?$/ }), 'an http:// or https:// URL, e.g. https://api.example.com/healthz')
      .optional()
      .describe('Full URL to probe. Give either url, or port (with host and path).'),
    host: hostSchema.optional().describe(`Host to probe when url is not given (default ${DEFAULT_HEALTH_HOST}).`),
    port: portSchema.optional().describe('Port to probe when url is not given.'),
    path: urlPathSchema()
      .optional()
      .describe('Path to probe when url is not given (default /).'),
    expected_status: expectedStatusSchema(),
    body: allowed(
      z.string().min(1).max(HEALTH_BODY_MAX_LENGTH).regex(/^[^\u0000]*$/),
      `text of 1 to ${HEALTH_BODY_MAX_LENGTH} characters, without NUL, that the response body must contain`,
    )
      .optional()
      .describe(
        `Text the response body must contain (a substring match, case-sensitive, on the first 64 KiB of the body), besides expected_status; 1 to ${HEALTH_BODY_MAX_LENGTH} characters. Without it, the status alone decides.`,
      ),
    from: healthFromSchema,
    timeout: durationSchema('How long to keep probing before the release is declared unhealthy', 60),
    interval: durationSchema('Pause between two probes', 2),
  })
  .superRefine((value, ctx) => {
    if (value.url !== undefined) {
      for (const key of ['host', 'port', 'path'] as const) {
        if (value[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            input: value[key],
            message: 'given together with url',
            params: { allowed: 'either url, or host/port/path (not both)' },
          });
        }
      }
    } else if (value.port === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        input: undefined,
        message: 'required when url is not given',
        params: { allowed: 'a port (1-65535), or a full url instead of host/port/path' },
      });
    }
  })
  .describe('Probe an HTTP endpoint until it answers with expected_status.');

const tcpHealthCheckSchema = z
  .strictObject({
    type: z.literal('tcp'),
    host: hostSchema.default(DEFAULT_HEALTH_HOST).describe(`Host to connect to (default ${DEFAULT_HEALTH_HOST}).`),
    port: portSchema.describe('Port that must accept connections.'),
    from: healthFromSchema,
    timeout: durationSchema('How long to keep trying before the release is declared unhealthy', 60),
    interval: durationSchema('Pause between two attempts', 2),
  })
  .describe('Wait until a TCP port accepts connections.');

const noHealthCheckSchema = z
  .strictObject({ type: z.literal('none') })
  .describe('No configured health check (turns off one inherited from the fraise or from defaults).');

export const healthCheckSchema = z
  .discriminatedUnion('type', [httpHealthCheckSchema, tcpHealthCheckSchema, noHealthCheckSchema])
  .describe('Health check a deploy waits for, when the provider has no health signal of its own: type http, tcp or none.')
  .meta({ id: 'HealthCheck', title: 'Health check' });

export const retainSchema = allowed(z.int().min(1).max(100), 'an integer from 1 to 100')
  .describe(`Releases kept for rollback (default ${DEFAULT_RETAIN}).`);

const descriptionSchema = allowed(z.string(), 'free text').describe('Free text for humans.');

export const taskQueueSchema = allowed(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/),
  'a task queue name: letters, digits, ".", "_" and "-", e.g. docker-host-a',
).describe(
  'Temporal task queue of the worker that runs this environment, e.g. one per Docker host (default: FRAISIER_TASK_QUEUE, else "fraisier").',
);

function environmentSchemaFor(entry: ProviderEntry) {
  return z
    .strictObject({
      provider: z.literal(entry.name).describe(entry.description),
      config: entry.configSchema.meta({ id: `${pascal(entry.name)}Config`, title: `${entry.name} config` }),
      health_check: healthCheckSchema.optional(),
      retain: retainSchema.optional(),
      task_queue: taskQueueSchema.optional(),
      deploy_timeout: optionalDurationSchema(
        `Bound on one change on the target (deploy, rollback, stop, remove, prune); default ${entry.bounds.changeSeconds / 60} minutes for ${entry.name}`,
      ),
      ready_timeout: optionalDurationSchema(
        `Bound on waiting for a release to come up after the change; default ${entry.bounds.readySeconds / 60} minutes for ${entry.name} (the CLI's --ready-timeout overrides it)`,
      ),
      poll_max_interval: optionalDurationSchema(
        `Longest pause between two looks at an asynchronous deployment (a Coolify build) when no webhook says it ended; backoff from 1 s; default 10 seconds`,
      ),
      description: descriptionSchema.optional(),
    })
    .superRefine((value, ctx) => {
      const check = value.health_check;
      if (!entry.healthFromServer && check !== undefined && check.type !== 'none' && check.from === 'server') {
        const { message, allowed: allowedText } = healthFromServerRefusal(entry.name);
        ctx.addIssue({ code: 'custom', path: ['health_check', 'from'], input: check.from, message, params: { allowed: allowedText } });
      }
    })
    .describe(`Environment deployed with the ${entry.name} provider.`)
    .meta({ id: `${pascal(entry.name)}Environment`, title: `${entry.name} environment` });
}

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_, __: string, c: string) => c.toUpperCase());
}

type EnvironmentOption = ReturnType<typeof environmentSchemaFor>;

const environmentOptions = providerCatalogue.map(environmentSchemaFor);

export const environmentSchema = z
  .discriminatedUnion('provider', environmentOptions as [EnvironmentOption, ...EnvironmentOption[]])
  .describe(`An environment of a fraise: which provider deploys it and that provider's config (providers: ${providerCatalogue.map((p) => p.name).join(', ')}).`)
  .meta({ id: 'Environment', title: 'Environment' });

const nonEmpty = (what: string, example: string) => ({
  message: `no ${what} defined`,
  params: { allowed: `at least one ${what.replace(/s$/, '')}, e.g. ${example}` },
});

export const fraiseSchema = z
  .strictObject({
    type: allowed(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/), 'a single word such as api, web or worker')
      .optional()
      .describe('Kind of service, a free word such as api, web or worker (informational).'),
    description: descriptionSchema.optional(),
    health_check: healthCheckSchema.optional(),
    retain: retainSchema.optional(),
    providers: z
      .record(nameSchema('environment'), environmentSchema)
      .refine((envs) => Object.keys(envs).length > 0, nonEmpty('environments', '"production: { provider: ..., config: ... }"'))
      .describe('The environments of this fraise (e.g. staging, production), each with its provider and config.'),
  })
  .describe('A deployable service. health_check and retain given here apply to every environment that does not set its own.')
  .meta({ id: 'Fraise', title: 'Fraise' });

export const defaultsSchema = z
  .strictObject({
    health_check: healthCheckSchema.optional(),
    retain: retainSchema.optional(),
  })
  .describe('Defaults for every fraise and environment that does not set its own.');

export const fraisesFileSchema = z
  .strictObject({
    $schema: allowed(z.string(), 'a path or URL of fraises.schema.json')
      .optional()
      .describe('JSON Schema of this file, for editors.'),
    defaults: defaultsSchema.optional(),
    projects: projectsSchema.optional(),
    fraises: z
      .record(nameSchema('fraise'), fraiseSchema)
      .refine((f) => Object.keys(f).length > 0, nonEmpty('fraises', '"my_api: { providers: { ... } }"'))
      .describe('The services fraisier deploys, by name (may be left out by a file that only has projects:).')
      .default({}),
  })
  .superRefine((file, ctx) => {
    // An environment's own health_check is checked by its provider's schema; an inherited one only here.
    for (const [fraise, entry] of Object.entries(file.fraises)) {
      for (const [environment, env] of Object.entries(entry.providers)) {
        if (env.health_check !== undefined) continue;
        const inherited = inheritedHealthCheck(fraise, entry.health_check, file.defaults?.health_check);
        if (!inherited || inherited.check.type === 'none' || inherited.check.from !== 'server') continue;
        if (findProvider(env.provider)?.healthFromServer) continue;
        const { message, allowed: allowedText } = healthFromServerRefusal(
          env.provider,
          formatPath(['fraises', fraise, 'providers', environment]),
        );
        ctx.addIssue({ code: 'custom', path: [...inherited.path, 'from'], input: 'server', message, params: { allowed: allowedText } });
      }
    }
  })
  .describe('fraisier configuration: the fraises (services) and, for each environment, how to deploy it.');

/**
 * The health_check an environment without its own inherits (the fraise's, else the defaults'), and the key path
 * it is written at; undefined when neither sets one.
 */
function inheritedHealthCheck(
  fraise: string,
  fromFraise: HealthCheckEntry | undefined,
  fromDefaults: HealthCheckEntry | undefined,
): { check: HealthCheckEntry; path: string[] } | undefined {
  if (fromFraise !== undefined) return { check: fromFraise, path: ['fraises', fraise, 'health_check'] };
  return fromDefaults !== undefined ? { check: fromDefaults, path: ['defaults', 'health_check'] } : undefined;
}

/** The validated content of fraises.yaml (durations in seconds, defaults filled in). */
export type FraisesFile = z.output<typeof fraisesFileSchema>;
export type HealthCheckEntry = z.output<typeof healthCheckSchema>;
export type EnvironmentEntry = z.output<typeof environmentSchema>;
export type FraiseEntry = z.output<typeof fraiseSchema>;

/** A loaded configuration: the file's content plus where it came from. */
export type FraisesConfig = FraisesFile & {
  /** The path the file was read from (as given), or the label it was parsed under. */
  file: string;
  /** Absolute directory of the file; relative paths in provider configs resolve against it. */
  configDir: string;
};
