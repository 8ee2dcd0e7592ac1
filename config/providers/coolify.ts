import { z } from 'zod';
import { allowed } from '../hints';

const COOLIFY_UUID = /^[a-z0-9]{24}$/;
const UUID_RULE = '24 lowercase letters and digits, as shown in the Coolify dashboard URL';
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

const coolifyUuid = (what: string) =>
  allowed(z.string().regex(COOLIFY_UUID, UUID_RULE), UUID_RULE).describe(`${what} (${UUID_RULE}).`);

/** `config:` of an environment whose provider is coolify. */
export const coolifyConfigSchema = z
  .strictObject({
    coolify_url: allowed(
      z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
      'the base URL of the Coolify instance, http:// or https://, e.g. https://coolify.example.com',
    ).describe('Base URL of the Coolify instance, e.g. https://coolify.example.com (http or https).'),
    token_env: allowed(
      z.string().regex(ENV_VAR, 'an environment variable name'),
      'the NAME of an environment variable holding the API token (e.g. COOLIFY_TOKEN); never the token itself',
    )
      .default('COOLIFY_TOKEN')
      .describe('Name of the environment variable that holds the Coolify API token. The token itself never goes in this file.'),
    application_uuid: coolifyUuid('UUID of the existing Coolify application to deploy').optional(),
    project_uuid: coolifyUuid('Project in which to provision the application when application_uuid is not given').optional(),
    server_uuid: coolifyUuid('Server on which to provision the application when application_uuid is not given').optional(),
    environment_name: allowed(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a Coolify environment name'),
      'a Coolify environment name: letters, digits, "_", "." and "-" (e.g. production)',
    )
      .optional()
      .describe('Coolify environment (within project_uuid) in which to provision the application.'),
    force: allowed(z.boolean(), 'true or false')
      .default(false)
      .describe('Rebuild without the build cache (Coolify "force deploy").'),
  })
  .superRefine((value, ctx) => {
    if (value.application_uuid !== undefined) return;
    const missing = (['project_uuid', 'server_uuid', 'environment_name'] as const).filter((k) => value[k] === undefined);
    for (const key of missing) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        input: undefined,
        message: 'required when application_uuid is not given',
        params: { allowed: 'application_uuid (an existing application), or project_uuid + server_uuid + environment_name (to provision one)' },
      });
    }
  })
  .describe('Application on a Coolify v4 instance: application_uuid, or project_uuid + server_uuid + environment_name to provision one.');

export type CoolifyConfig = z.infer<typeof coolifyConfigSchema>;
