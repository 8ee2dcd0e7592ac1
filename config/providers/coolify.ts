import { z } from 'zod';
import { allowed } from '../hints';

const COOLIFY_UUID = /^[a-z0-9]{24}$/;
const UUID_RULE = '24 lowercase letters and digits, as shown in the Coolify dashboard URL';
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$/;
const NAME_RULE = 'a Coolify name: letters, digits, spaces, "_", "." and "-" (or its uuid)';

const coolifyUuid = (what: string) =>
  allowed(z.string().regex(COOLIFY_UUID, UUID_RULE), UUID_RULE).describe(`${what} (${UUID_RULE}).`);
const coolifyName = (what: string) => allowed(z.string().regex(NAME, NAME_RULE), NAME_RULE).describe(what);

/** `config:` of an environment whose provider is coolify. */
export const coolifyConfigSchema = z
  .strictObject({
    coolify_url: allowed(
      z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
      'the base URL of the Coolify instance, http:// or https://, e.g. https://coolify.example.com',
    )
      .optional()
      .describe("Base URL of the Coolify instance, e.g. https://coolify.example.com (default: the worker's COOLIFY_API_URL)."),
    token_env: allowed(
      z.string().regex(ENV_VAR, 'an environment variable name'),
      'the NAME of an environment variable holding the API token (e.g. COOLIFY_API_TOKEN); never the token itself',
    )
      .default('COOLIFY_API_TOKEN')
      .describe("Name of the worker's environment variable that holds the Coolify API token. The token itself never goes in this file."),
    application_uuid: coolifyUuid('UUID of the Coolify application to deploy').optional(),
    project: coolifyName('Project of the application (name or uuid), when application_uuid is not given.').optional(),
    environment: coolifyName('Coolify environment of the application within the project (name or uuid), e.g. production.').optional(),
    application: coolifyName('Name of the application in that environment, when application_uuid is not given.').optional(),
    server_uuid: coolifyUuid('Server the application must run on (checked by the pre-flight)').optional(),
    version_env: allowed(z.string().regex(ENV_VAR, 'an environment variable name'), 'an environment variable name, e.g. APP_VERSION')
      .optional()
      .describe("Set the version in this environment variable of the application (upserted) instead of its image tag (docker_registry_image_tag)."),
    force: allowed(z.boolean(), 'true or false')
      .default(false)
      .describe('Rebuild without the build cache (Coolify "force deploy").'),
  })
  .superRefine((value, ctx) => {
    if (value.application_uuid !== undefined) return;
    for (const key of ['project', 'environment', 'application'] as const) {
      if (value[key] !== undefined) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        input: undefined,
        message: 'required when application_uuid is not given',
        params: { allowed: 'application_uuid, or project + environment + application (names, looked up once)' },
      });
    }
  })
  .describe('Application on a Coolify v4 instance: application_uuid, or project + environment + application to look it up.');

export type CoolifyConfig = z.output<typeof coolifyConfigSchema>;
