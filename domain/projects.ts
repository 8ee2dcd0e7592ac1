/**
 * Projects (tenants): each one gets its own stack, made from a compose template with secrets generated for it.
 * The id rule, the shared types and the project lock; plain data, no dependency.
 */
import { quote } from './names';

export const PROJECT_ID_MAX_LENGTH = 40;
/** Lowercase letters, digits and "-", starting and ending with a letter or digit. */
export const PROJECT_ID_PATTERN = new RegExp(`^[a-z0-9](?:[a-z0-9-]{0,${PROJECT_ID_MAX_LENGTH - 2}}[a-z0-9])?$`);
export const PROJECT_ID_RULE = `lowercase letters, digits and "-", starting and ending with a letter or digit, 1 to ${PROJECT_ID_MAX_LENGTH} characters (e.g. acme, shop-eu-2)`;

export const SECRET_KINDS = ['password', 'hex', 'base64', 'uuid'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];
/** Bounds of a secret's length in characters (a uuid has its own). */
export const SECRET_MIN_LENGTH = 8;
export const SECRET_MAX_LENGTH = 128;

export const PROJECT_STATUSES = ['provisioning', 'running', 'stopped', 'failed', 'deleted'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

/** Where a project's stack runs; `auto` in the config is resolved to one of these (config/projects.ts). */
export const PROJECT_BACKENDS = ['local', 'coolify'] as const;
export type ProjectBackend = (typeof PROJECT_BACKENDS)[number];

/** What `fraisier projects` shows of a project: never a secret (the database URL's password is masked). */
export interface ProjectSummary {
  id: string;
  backend: ProjectBackend;
  status: ProjectStatus;
  apiUrl: string | null;
  /** With its password replaced by `***` (maskUrlPassword). */
  dbUrl: string | null;
  /** Allocated host ports by name, e.g. { API_PORT: 20000, DB_PORT: 20001 }. */
  ports: Record<string, number>;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  /** Its data (volumes) is gone too: it cannot be restored, and its ports are free again. */
  purged: boolean;
  error: string | null;
}

/** What is wrong with a project id, or null when it is fine (the style of domain/names.ts). */
export function projectIdProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `project id must be a string, got ${quote(value)}`;
  if (value.length === 0) return 'project id is empty';
  if (value.length > PROJECT_ID_MAX_LENGTH) return `project id ${quote(value)} is longer than ${PROJECT_ID_MAX_LENGTH} characters`;
  if (value.startsWith('-') || value.endsWith('-')) return `project id ${quote(value)} starts or ends with "-"`;
  if (!PROJECT_ID_PATTERN.test(value)) return `project id ${quote(value)} has characters other than lowercase letters, digits and "-"`;
  return null;
}

/** Throws a RangeError saying what is wrong with the id and the rule it must follow. */
export function validateProjectId(value: unknown): string {
  const problem = projectIdProblem(value);
  if (problem !== null) throw new RangeError(`${problem}; a project id has ${PROJECT_ID_RULE}`);
  return value as string;
}

/** `scheme://user:` then the password, up to the last "@" of the authority. */
const URL_PASSWORD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/?#@]*:)([^/?#]*)@/;

/**
 * The URL with its password replaced by `***`, written as given otherwise (no normalisation). A URL
 * without a password, and a string that is not a URL, come back unchanged.
 */
export function maskUrlPassword(url: string): string {
  const m = URL_PASSWORD.exec(url);
  if (!m || m[2] === '') return url;
  return `${m[1]}***@${url.slice(m[0].length)}`;
}

/**
 * The lock of a project: every operation on it (provision, stop, start, delete, restore) runs under this one
 * workflow id, as deploys run under `provider:fraise:environment` (domain/ids.ts). It never collides with those
 * (they always hold ":") nor with the cleanup's (`fraisier-cleanup…`), and reads back unambiguously: a backend has no "-".
 */
export function projectLockKey(backend: ProjectBackend, id: string): string {
  return `fraisier-project-${backend}-${validateProjectId(id)}`;
}

/** `projects.backend` in fraises.yaml: a backend, or `auto` (Coolify when the worker can reach one, else local). */
export type ProjectBackendChoice = ProjectBackend | 'auto';

export interface ProjectSecretSpec {
  /** The variable it is given as, e.g. DB_PASSWORD. */
  name: string;
  kind: SecretKind;
  /** Characters; a uuid ignores it. */
  length: number;
}

/** The health check of a project's stack: an HTTP GET of `path` on its api URL. */
export interface ProjectHealthCheck {
  path: string;
  expectedStatus: number;
  timeoutSeconds: number;
  intervalSeconds: number;
}

/** Where projects go on Coolify (`projects.coolify` of fraises.yaml). */
export interface CoolifyProjectsSettings {
  /** The Coolify server every project's stack runs on. */
  serverUuid: string;
  /** Only when that server has several destinations (Docker networks). */
  destinationUuid: string | null;
  /**
   * The one Coolify project (name, or uuid) holding every tenant, each in an environment of its own named
   * `fraisier-project-<id>`; created when absent.
   */
  project: string;
}

/** The Coolify project projects go in when projects.coolify.project is not given. */
export const DEFAULT_COOLIFY_PROJECT = 'fraisier-projects';

/**
 * The `projects:` section of fraises.yaml as the client resolved it (defaults filled in, the template's path made
 * absolute): plain JSON, sent to the workflows like a Target.
 */
export interface ProjectsSettings {
  /** Absolute path of the compose template, read on the worker's machine. */
  template: string;
  secrets: ProjectSecretSpec[];
  /** Names of the host ports each project gets, e.g. API_PORT, DB_PORT. */
  ports: string[];
  portRange: { from: number; to: number };
  /** Templates over PROJECT_ID, the ports and the secrets, e.g. `http://127.0.0.1:${API_PORT}`. */
  apiUrl: string | null;
  dbUrl: string | null;
  healthCheck: ProjectHealthCheck | null;
  backend: ProjectBackendChoice;
  readyTimeoutSeconds: number;
  /** `projects.coolify`; null when the section has none (then the coolify backend cannot be used). */
  coolify: CoolifyProjectsSettings | null;
}

/** The variable every project template and URL may use besides its ports and secrets. */
export const PROJECT_ID_VARIABLE = 'PROJECT_ID';

/** `${…}` in a URL template; `$${` is a literal `${`, not a placeholder. */
const PLACEHOLDER = /(\$?)\$\{([^}]*)\}/g;

/** The template with each `${name}` replaced by `replace(name)`; a `$${…}` is left as it is. */
export function replacePlaceholders(template: string, replace: (name: string) => string): string {
  return template.replace(PLACEHOLDER, (match: string, escaped: string, name: string) => (escaped === '' ? replace(name) : match));
}

/** What each `${…}` of a URL template holds, in order. */
export function placeholderNames(template: string): string[] {
  const names: string[] = [];
  replacePlaceholders(template, (name) => {
    names.push(name);
    return '';
  });
  return names;
}
