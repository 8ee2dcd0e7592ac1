/**
 * Field schemas shared by schema.ts and projects.ts: durations (seconds as a number, or a string such as 30s, 2m,
 * 1h; parsed to seconds), URL paths and HTTP statuses of health checks.
 */
import { z } from 'zod';
import { allowed } from './hints';
import { DURATION_PATTERN, DURATION_RULE, parseDuration } from '../domain/names';

/** A duration: seconds as a number, or a string such as 30s, 2m, 1h. Parses to seconds. */
function seconds() {
  return allowed(z.union([z.number().positive(), z.string().regex(DURATION_PATTERN)]), DURATION_RULE).transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', input: value, message: (err as Error).message, params: { allowed: DURATION_RULE } });
      return z.NEVER;
    }
  });
}

export function durationSchema(what: string, defaultSeconds: number) {
  return seconds()
    .describe(`${what}: seconds, or a duration such as 30s, 2m, 1h (default ${defaultSeconds}s).`)
    .default(defaultSeconds);
}

/** A duration with no default of its own (the provider's applies). */
export function optionalDurationSchema(what: string) {
  return seconds().optional().describe(`${what}: seconds, or a duration such as 30s, 2m, 1h.`);
}

/** The path of an HTTP health check. */
export function urlPathSchema() {
  return allowed(z.string().regex(/^\/[^\s]*$/), 'a URL path starting with "/", without whitespace, e.g. /healthz');
}

/** The status an HTTP health check expects (default 200). */
export function expectedStatusSchema() {
  return allowed(z.int().min(100).max(599), 'an HTTP status code from 100 to 599').default(200).describe('HTTP status that means healthy.');
}
