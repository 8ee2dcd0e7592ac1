import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Target } from '../activities/providers/contract';
import { ConfigError, loadConfig } from '../config/load';
import { resolveTarget } from '../config/resolve';
import { parseDuration, validateVersion } from '../config/names';
import { CliError, EXIT } from './exitCodes';

/** Loads fraises.yaml and resolves one target, or fails with exit code 2 before anything starts. */
export async function loadTarget(configFile: string, fraise: string, environment: string): Promise<Target> {
  try {
    const config = await loadConfig(resolve(configFile));
    return resolveTarget(config, fraise, environment);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof Error) throw new CliError(err.message, EXIT.badInput);
    throw err;
  }
}

export function checkVersion(version: string, option: string): string {
  const problem = validateVersion(version);
  if (problem) throw new CliError(`${option} ${JSON.stringify(version)}: ${problem}`, EXIT.badInput);
  return version;
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
