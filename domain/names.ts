/**
 * Rules for the names and values that end up in lock keys, workflow ids, file paths and remote
 * commands. Each validator returns an error message (what is wrong) or null when the value is fine.
 */

export const NAME_PATTERN = /^[a-z0-9_-]+$/;
export const NAME_MAX_LENGTH = 63;
export const NAME_RULE = `lowercase letters, digits, "_" and "-", not starting with "-", at most ${NAME_MAX_LENGTH} characters`;

/**
 * The one version rule: every version fraisier accepts (CLI, workflows, records) passes it. A provider may
 * only narrow it (Docker image tags have no "+"), through its `checkVersion` in config/providers/.
 */
export const VERSION_MAX_LENGTH = 128;
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export const VERSION_RULE =
  'letters, digits, ".", "_", "+" and "-", starting with a letter or digit, at most 128 characters (e.g. v1.4.2, 2024-06-01, a1b2c3d)';

/** A host name (RFC 1123 labels) or an IP address (IPv4, or IPv6 bare or in brackets): never starts with "-". */
export const HOST_PATTERN =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^\[?(?=[^\]]*:[^\]]*:)[0-9A-Fa-f:.]{2,45}\]?$/;

export type NameKind = 'fraise' | 'environment';

/** Quotes a value for an error message, so that control characters and spaces stay visible. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** Checks a fraise or environment name. */
export function validateName(kind: NameKind, value: unknown): string | null {
  if (typeof value !== 'string') return `${kind} name must be a string, got ${quote(value)}`;
  if (value.length === 0) return `${kind} name is empty`;
  if (value.length > NAME_MAX_LENGTH) return `${kind} name ${quote(value)} is longer than ${NAME_MAX_LENGTH} characters`;
  if (value.startsWith('-')) return `${kind} name ${quote(value)} starts with "-"`;
  if (!NAME_PATTERN.test(value)) return `${kind} name ${quote(value)} has characters other than lowercase letters, digits, "_" and "-"`;
  return null;
}

/** Checks a version (a git tag, commit, image tag…): it is passed to remote commands, so no shell metacharacters. */
export function validateVersion(value: unknown): string | null {
  if (typeof value !== 'string') return `version must be a string, got ${quote(value)}`;
  if (value.length === 0) return 'version is empty';
  if (value.length > VERSION_MAX_LENGTH) return `version ${quote(value)} is longer than ${VERSION_MAX_LENGTH} characters`;
  if (value.startsWith('-')) return `version ${quote(value)} starts with "-"`;
  if (!VERSION_PATTERN.test(value)) return `version ${quote(value)} has characters that are not allowed (${VERSION_RULE})`;
  return null;
}

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
export const DURATION_RULE = 'a number of seconds, or a number followed by ms, s, m, h or d (e.g. 500ms, 30s, 2m, 1h, 24h)';
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };
/** One year: anything longer is a typo. */
export const DURATION_MAX_SECONDS = 366 * 86_400;

/**
 * Parses a duration to seconds: a number of seconds, or a string such as `30s`, `2m`, `1h`, `24h`
 * (a bare number in a string means seconds). Throws a RangeError whose message says what is wrong.
 */
export function parseDuration(value: string | number): number {
  let seconds: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`duration ${quote(value)} is not a finite number`);
    seconds = value;
  } else if (typeof value === 'string') {
    const m = DURATION_PATTERN.exec(value.trim());
    if (!m) throw new RangeError(`duration ${quote(value)} is not understood`);
    seconds = Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1);
  } else {
    throw new RangeError(`duration must be a number or a string, got ${quote(value)}`);
  }
  if (seconds <= 0) throw new RangeError(`duration ${quote(value)} is not positive`);
  if (seconds > DURATION_MAX_SECONDS) throw new RangeError(`duration ${quote(value)} is longer than a year`);
  return seconds;
}
