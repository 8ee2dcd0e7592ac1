/** What a project's variables are, and what is shown of it: its URLs rendered, the database password masked. */
import type { ProjectRecord } from '../../db/types';
import { maskUrlPassword, PROJECT_ID_VARIABLE, replacePlaceholders, type ProjectSummary } from '../../domain/projects';

/** The variables of a project's template, URLs and env file: PROJECT_ID, its ports and its secrets. */
export function projectVariables(id: string, ports: Record<string, number>, secrets: Record<string, string>): Record<string, string> {
  return {
    [PROJECT_ID_VARIABLE]: id,
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
    ...secrets,
  };
}

/**
 * A URL template with the project's variables put in. Throws, naming the variable, when one has no value (a port
 * not allocated yet): config validation admits only declared names, so the record is behind the config.
 */
export function renderUrl(template: string, vars: Record<string, string>): string {
  return replacePlaceholders(template, (name) => {
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (value === undefined) {
      throw new Error(`the URL template ${maskUrlPassword(template)} names \${${name}}, which this project has no value for: allocate its ports (or provision it again) first`);
    }
    return value;
  });
}

/** What `fraisier projects` shows: never a secret (the database URL's password is masked). */
export function projectSummary(record: ProjectRecord, secrets: Record<string, string>): ProjectSummary {
  const vars = projectVariables(record.id, record.ports, secrets);
  return {
    id: record.id,
    backend: record.backend,
    status: record.status,
    // A purged project's ports are released: it has no URLs any more.
    apiUrl: record.apiUrlTemplate === null || record.purged ? null : renderUrl(record.apiUrlTemplate, vars),
    dbUrl: record.dbUrlTemplate === null || record.purged ? null : maskUrlPassword(renderUrl(record.dbUrlTemplate, vars)),
    ports: { ...record.ports },
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    purged: record.purged,
    error: record.error,
  };
}
