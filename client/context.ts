import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load';
import { findProvider, providerNames } from '../config/providers/index';
import { resolveTarget } from '../config/resolve';
import { parseDuration, validateVersion } from '../domain/names';
import type { Target } from '../domain/target';
import { CliError, EXIT } from './exitCodes';

/**
 * Loads fraises.yaml and resolves one target, or fails with exit code 2 before anything starts. Only a bad
 * config is bad input: any other error is ours, and goes up to be reported as such.
 */
export async function loadTarget(configFile: string, fraise: string, environment: string): Promise<Target> {
  try {
    const config = await loadConfig(resolve(configFile));
    return resolveTarget(config, fraise, environment);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.badInput);
    throw err;
  }
}

/** The one version rule (domain/names.ts); with a target, narrowed by its provider. Exit code 2 before anything starts. */
export function checkVersion(version: string, option: string, target?: Target): string {
  const problem = validateVersion(version) ?? (target ? findProvider(target.provider)?.checkVersion(version) ?? null : null);
  if (problem) throw new CliError(`${option} ${JSON.stringify(version)}: ${problem}`, EXIT.badInput);
  return version;
}

/** Refuses a target whose provider cannot run yet, before anything starts. */
export function requireAvailable(target: Target): void {
  const entry = findProvider(target.provider);
  if (!entry) throw new CliError(`unknown provider "${target.provider}"; known: ${providerNames.join(', ')}`, EXIT.badInput);
  if (!entry.available) {
    const available = providerNames.filter((n) => findProvider(n)?.available).join(', ');
    throw new CliError(
      `${target.fraise}/${target.environment} uses provider "${target.provider}", which this version of fraisier cannot run yet (available: ${available})`,
      EXIT.badInput,
    );
  }
}

export function durationSeconds(value: string, option: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new CliError(`${option} ${JSON.stringify(value)}: ${(err as Error).message}`, EXIT.badInput);
  }
}

export function defaultRequester(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? user;
  }
  return `${user}@${hostname()}`;
}
