/**
 * Where the version of a docker_compose target lives (a variable in the env file, or the image tag in the
 * compose file), what image a version gives, which release a running container is, and writing a version.
 */
import { promises as fs } from 'node:fs';
import type { ReleaseData } from '../../../domain/release';
import { ProviderInputError } from '../contract';
import * as cmd from './commands';
import type { ComposeCli, ComposeInvocation } from './commands';
import { parseComposeFile, setServiceImage, type ComposeFileInfo } from './composeFile';
import { parseEnvFile, readEnvVariable, setEnvVariable } from '../../dotenv';
import { replaceFile, writeFileAtomic } from './files';
import {
  extractVariable,
  imageTag,
  imageVariables,
  interpolate,
  parseImageTemplate,
  replaceImageTag,
  tagVariables,
  type Lookup,
} from './interpolation';
import type { Setup } from './setup';

/** How the version is set for the service. */
export type VersionMode = { kind: 'variable'; name: string } | { kind: 'tag' };

export interface FileState {
  compose: ComposeFileInfo;
  composeText: string;
  /** Undefined when the env file does not exist. */
  envText: string | undefined;
  mode: VersionMode;
}

/** The worker's environment, which compose itself interpolates with. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Chooses how the version is set: the configured variable, else the single variable in the image tag, else the tag. */
export function versionMode(compose: ComposeFileInfo, cfg: { version_variable?: string | undefined; service_name: string }, file: string): VersionMode {
  const all = imageVariables(compose.segments);
  if (cfg.version_variable) {
    if (!all.includes(cfg.version_variable)) {
      throw new ProviderInputError(
        `version_variable is ${cfg.version_variable} but the image of service "${cfg.service_name}" in ${file} (${compose.image}) does not use it; write e.g. image: name:\${${cfg.version_variable}}`,
      );
    }
    return { kind: 'variable', name: cfg.version_variable };
  }
  const inTag = tagVariables(compose.segments);
  if (inTag.length === 1 && inTag[0]) return { kind: 'variable', name: inTag[0] };
  if (inTag.length > 1) {
    throw new ProviderInputError(
      `the image of service "${cfg.service_name}" in ${file} (${compose.image}) uses several variables in its tag (${inTag.join(', ')}); set version_variable to the one holding the version`,
    );
  }
  return { kind: 'tag' };
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function readState(setup: Setup): Promise<FileState> {
  const composeText = await readOptional(setup.composeFile);
  if (composeText === undefined) {
    throw new ProviderInputError(
      `compose file ${setup.composeFile} does not exist on this worker (compose_file: ${setup.cfg.compose_file}); paths are read on the worker's machine: create the file there, or fix compose_file`,
    );
  }
  const compose = parseComposeFile(composeText, setup.composeFile, setup.service);
  const mode = versionMode(compose, setup.cfg, setup.composeFile);
  const envText = await readOptional(setup.envFile);
  return { compose, composeText, envText, mode };
}

/** Compose precedence: the process environment, then the env file; the version variable always from the env file. */
function lookupFor(state: FileState, env: Environment, overrides: Record<string, string> = {}): Lookup {
  const fromFile = state.envText !== undefined ? parseEnvFile(state.envText) : {};
  return (name) => {
    if (name in overrides) return overrides[name];
    if (state.mode.kind === 'variable' && name === state.mode.name) return fromFile[name];
    return env[name] ?? fromFile[name];
  };
}

/** The concrete image reference the service uses with `version` (or with the current files when omitted). */
export function imageFor(setup: Setup, state: FileState, env: Environment, version?: string): string {
  let ref: string;
  if (version === undefined) {
    ref = interpolate(state.compose.segments, lookupFor(state, env));
  } else if (state.mode.kind === 'variable') {
    ref = interpolate(state.compose.segments, lookupFor(state, env, { [state.mode.name]: version }));
  } else {
    const template = replaceImageTag(state.compose.image, version);
    ref = interpolate(parseImageTemplate(template), lookupFor(state, env));
  }
  if (!cmd.isImageReference(ref)) {
    throw new ProviderInputError(
      `the image of service "${setup.service}" in ${setup.composeFile} resolves to ${JSON.stringify(ref)}, which is not a valid image reference; check the variables it uses`,
    );
  }
  return ref;
}

/** What runs now, as a release rollback can return to; undefined when its version cannot be told. */
export function releaseOf(state: FileState, env: Environment, image: { ref: string; id: string }): ReleaseData | undefined {
  const version =
    state.mode.kind === 'variable' ? extractVariable(state.compose.segments, state.mode.name, image.ref, lookupFor(state, env)) : imageTag(image.ref);
  if (version === undefined || !/^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$/.test(version)) return undefined;
  return { version, artifact: { image: image.ref, imageId: image.id } };
}

export function composeInvocation(setup: Setup, state: FileState, cli: ComposeCli): ComposeInvocation {
  const env: Record<string, string> = { ...setup.docker.env };
  if (state.mode.kind === 'variable') {
    // Pin the variable to the env file's value so that a variable of the worker's own environment never wins.
    const value = state.envText !== undefined ? readEnvVariable(state.envText, state.mode.name) : undefined;
    if (value !== undefined) env[state.mode.name] = value;
  }
  const useEnvFile = (state.mode.kind === 'variable' || setup.envFileConfigured) && state.envText !== undefined;
  return {
    cli,
    composeFile: setup.composeFile,
    ...(setup.cfg.project_name ? { projectName: setup.cfg.project_name } : {}),
    ...(useEnvFile ? { envFile: setup.envFile } : {}),
    cwd: setup.composeDir,
    env,
  };
}

export function describeMode(setup: Setup, mode: VersionMode): string {
  return mode.kind === 'variable'
    ? `version in ${mode.name} of ${setup.envFile}`
    : `version as the image tag of "${setup.service}" in ${setup.composeFile}`;
}

/** Writes the version into the env file or the compose file (backed up first); returns how to undo it. */
export async function applyVersion(setup: Setup, state: FileState, version: string, log: (line: string) => void): Promise<() => Promise<void>> {
  if (state.mode.kind === 'variable') {
    const before = state.envText;
    const backup = await replaceFile(setup.envFile, setEnvVariable(before ?? '', state.mode.name, version));
    log(`set ${state.mode.name}=${version} in ${setup.envFile}${backup ? ` (backup ${backup})` : ''}`);
    return async () => {
      if (before === undefined) await fs.rm(setup.envFile, { force: true });
      else await writeFileAtomic(setup.envFile, before);
    };
  }
  const before = state.composeText;
  const updated = setServiceImage(before, setup.composeFile, setup.service, replaceImageTag(state.compose.image, version));
  const backup = await replaceFile(setup.composeFile, updated);
  log(`set the image tag of "${setup.service}" to ${version} in ${setup.composeFile}${backup ? ` (backup ${backup})` : ''}`);
  return () => writeFileAtomic(setup.composeFile, before);
}
