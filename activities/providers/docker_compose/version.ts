import { ProviderInputError } from '../contract';

export const MAX_VERSION_LENGTH = 128;
const VERSION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\+[A-Za-z0-9._-]+)?$/;
/** What Docker accepts as an image tag. */
const DOCKER_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * Rejects anything that is not a plain version: letters, digits, ".", "_", "-", one optional "+build" part,
 * no leading "-" or ".", at most 128 characters. The version ends up in argv, an env file and YAML, so
 * whitespace, quotes and shell metacharacters are refused even though nothing goes through a shell.
 */
export function validateVersion(version: unknown): string {
  if (typeof version !== 'string' || version === '') {
    throw new ProviderInputError('the version must be a non-empty string');
  }
  if (version.length > MAX_VERSION_LENGTH) {
    throw new ProviderInputError(`the version is ${version.length} characters long; at most ${MAX_VERSION_LENGTH} are allowed`);
  }
  if (!VERSION_PATTERN.test(version)) {
    throw new ProviderInputError(
      `invalid version ${JSON.stringify(version)}: use letters, digits, ".", "_" and "-" (plus an optional "+build" suffix), not starting with "-" or "."`,
    );
  }
  return version;
}

/** The version must also be a valid Docker tag when it replaces the image tag in the compose file. */
export function validateDockerTag(version: string): string {
  validateVersion(version);
  if (!DOCKER_TAG_PATTERN.test(version)) {
    throw new ProviderInputError(
      `version ${JSON.stringify(version)} is not a valid Docker image tag ("+" is not allowed in tags); use version_variable if the version is not the tag itself`,
    );
  }
  return version;
}
