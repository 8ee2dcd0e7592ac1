import { DEFAULT_POLL_MAX_SECONDS, type HealthCheckConfig, type Target } from '../domain/target';
import { absolutePaths, findProvider } from './providers/index';
import { ConfigError, formatPath } from './errors';
import { quote } from '../domain/names';
import { DEFAULT_HEALTH_HOST, DEFAULT_RETAIN, healthFromServerRefusal, type FraisesConfig, type HealthCheckEntry } from './schema';

/**
 * Turns a health_check entry of the file into the contract's form (seconds, defaults filled in). Keys left at
 * their defaults (`from: worker`, no `body`) are not written, so the targets of older histories stay the same.
 */
export function normaliseHealthCheck(entry: HealthCheckEntry | undefined): HealthCheckConfig | undefined {
  if (!entry || entry.type === 'none') return undefined;
  if (entry.type === 'tcp') {
    const tcp: HealthCheckConfig = { type: 'tcp', host: entry.host, port: entry.port, timeoutSeconds: entry.timeout, intervalSeconds: entry.interval };
    if (entry.from === 'server') tcp.from = 'server';
    return tcp;
  }
  const check: HealthCheckConfig = {
    type: 'http',
    host: entry.host ?? DEFAULT_HEALTH_HOST,
    path: entry.path ?? '/',
    expectedStatus: entry.expected_status,
    timeoutSeconds: entry.timeout,
    intervalSeconds: entry.interval,
  };
  if (entry.url !== undefined) check.url = entry.url;
  if (entry.port !== undefined) check.port = entry.port;
  if (entry.body !== undefined) check.bodyContains = entry.body;
  if (entry.from === 'server') check.from = 'server';
  return check;
}

function names(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  return keys.length > 0 ? keys.join(', ') : '(none)';
}

/**
 * The deploy target of one fraise in one environment. health_check and retain come from the
 * environment, else the fraise, else the file's defaults (retain: 5; health check: none).
 */
export function resolveTarget(config: FraisesConfig, fraise: string, environment: string): Target {
  const entry = Object.hasOwn(config.fraises, fraise) ? config.fraises[fraise] : undefined;
  if (!entry) {
    throw new ConfigError(config.file, [
      { path: formatPath(['fraises', fraise]), message: `no fraise named ${quote(fraise)}`, allowed: names(config.fraises) },
    ]);
  }
  const env = Object.hasOwn(entry.providers, environment) ? entry.providers[environment] : undefined;
  if (!env) {
    throw new ConfigError(config.file, [
      {
        path: formatPath(['fraises', fraise, 'providers', environment]),
        message: `fraise ${quote(fraise)} has no environment named ${quote(environment)}`,
        allowed: names(entry.providers),
      },
    ]);
  }
  const healthCheck = normaliseHealthCheck(env.health_check ?? entry.health_check ?? config.defaults?.health_check);
  // The schema admits only known providers, so this is our own bug if it is ever missing.
  const provider = findProvider(env.provider);
  if (!provider) throw new Error(`internal: provider ${env.provider} passed validation but is not in the catalogue`);
  // The loader refuses this already (schema.ts); checked again for a config that did not come through it.
  if (healthCheck?.from === 'server' && !provider.healthFromServer) {
    const envPath = ['fraises', fraise, 'providers', environment];
    const own = env.health_check !== undefined;
    const at = own ? envPath : entry.health_check !== undefined ? ['fraises', fraise] : ['defaults'];
    const { message, allowed } = healthFromServerRefusal(env.provider, own ? undefined : formatPath(envPath));
    throw new ConfigError(config.file, [{ path: formatPath([...at, 'health_check', 'from']), message, allowed }]);
  }
  const target: Target = {
    fraise,
    environment,
    provider: env.provider,
    // The worker may run elsewhere: it gets absolute paths, never the client's working directory.
    config: absolutePaths(provider, env.config, config.configDir),
    retain: env.retain ?? entry.retain ?? config.defaults?.retain ?? DEFAULT_RETAIN,
    bounds: {
      changeSeconds: env.deploy_timeout ?? provider.bounds.changeSeconds,
      readySeconds: env.ready_timeout ?? provider.bounds.readySeconds,
      pollMaxSeconds: env.poll_max_interval ?? DEFAULT_POLL_MAX_SECONDS,
    },
  };
  if (healthCheck) target.healthCheck = healthCheck;
  if (env.task_queue !== undefined) target.taskQueue = env.task_queue;
  return target;
}

/** Every target of the file, in file order (fraise by fraise, environment by environment). */
export function listTargets(config: FraisesConfig): Target[] {
  return Object.entries(config.fraises).flatMap(([fraise, entry]) =>
    Object.keys(entry.providers).map((environment) => resolveTarget(config, fraise, environment)),
  );
}
