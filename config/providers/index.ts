/**
 * What fraisier knows of each provider without loading it: its name, its config schema, which config keys are
 * paths, how it narrows the version rule, and how long its steps may take. The client, the config loader and
 * the worker all read this; the implementations live in activities/providers/<name>/ and are loaded lazily.
 */
import path from 'node:path';
import type { z } from 'zod';
import type { TargetBounds } from '../../domain/target';
import { bareMetalConfigSchema, type BareMetalConfig } from './bare_metal';
import { coolifyConfigSchema, type CoolifyConfig } from './coolify';
import { dockerComposeConfigSchema, dockerTagProblem, type DockerComposeConfig } from './docker_compose';

export type { BareMetalConfig, CoolifyConfig, DockerComposeConfig };

export interface ProviderEntry {
  name: string;
  description: string;
  /** False while the provider's implementation has not landed: its config validates, operations are refused. */
  available: boolean;
  configSchema: z.ZodType<Record<string, unknown>>;
  /** Config keys that hold paths: the client makes relative ones absolute (against fraises.yaml's directory). */
  pathKeys: readonly string[];
  /** Narrows the one version rule (domain/names.ts) where the provider cannot take every version: a message, or null. */
  checkVersion(version: string): string | null;
  /** Default bounds of this provider's steps; an environment may set its own (deploy_timeout, ready_timeout). */
  bounds: TargetBounds;
  /**
   * Whether the provider runs commands on the target's own server and so can run its health probe there
   * (`health_check.from: server`); the others probe from the worker only.
   */
  healthFromServer: boolean;
}

/** Versions become git refs and directory names on the server: git refuses "..", a trailing "." and ".lock". */
function gitRef(version: string): string | null {
  if (version.includes('..')) return `bare_metal fetches the version as a git ref, and git refuses ".." in a ref name`;
  if (version.endsWith('.') || version.endsWith('.lock')) return 'bare_metal fetches the version as a git ref, and git refuses a ref name ending with "." or ".lock"';
  return null;
}

export const providerCatalogue: readonly ProviderEntry[] = [
  {
    name: 'docker_compose',
    description: 'Docker Compose service on a Docker host (v2 plugin, falls back to docker-compose v1).',
    available: true,
    configSchema: dockerComposeConfigSchema,
    pathKeys: ['compose_file', 'env_file'],
    checkVersion: (version) => dockerTagProblem('docker_compose', version),
    bounds: { changeSeconds: 20 * 60, readySeconds: 5 * 60 },
    healthFromServer: false,
  },
  {
    name: 'coolify',
    description: 'Application on a Coolify v4 instance, through its HTTP API (asynchronous deployments).',
    available: true,
    configSchema: coolifyConfigSchema,
    pathKeys: [],
    checkVersion: (version) => dockerTagProblem('coolify', version),
    // A Coolify build may queue behind others and take many minutes.
    bounds: { changeSeconds: 40 * 60, readySeconds: 30 * 60 },
    healthFromServer: false,
  },
  {
    name: 'bare_metal',
    description: 'Release directories on a server over SSH, switched by a symlink, run by a service manager.',
    available: true,
    configSchema: bareMetalConfigSchema,
    pathKeys: ['ssh_key', 'ssh_key_path', 'known_hosts'],
    checkVersion: gitRef,
    bounds: { changeSeconds: 20 * 60, readySeconds: 5 * 60 },
    healthFromServer: true,
  },
];

export const providerNames = providerCatalogue.map((p) => p.name);

export function findProvider(name: string): ProviderEntry | undefined {
  return providerCatalogue.find((p) => p.name === name);
}

/**
 * The config with its relative path keys made absolute against `baseDir` (the directory of fraises.yaml).
 * `~/…` is left for the worker to expand with its own home directory.
 */
export function absolutePaths(entry: ProviderEntry, config: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const out = { ...config };
  for (const key of entry.pathKeys) {
    const value = out[key];
    if (typeof value === 'string' && !path.isAbsolute(value) && !value.startsWith('~')) out[key] = path.resolve(baseDir, value);
  }
  return out;
}
