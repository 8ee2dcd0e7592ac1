import { z } from 'zod';
import { allowed } from '../hints';
import { HOST_PATTERN } from '../../domain/names';

/*
 * Every value here ends up in an ssh command line or a remote shell command, so the patterns are
 * deliberately narrow: nothing that starts with "-" (it would be read as an option), no whitespace,
 * no shell metacharacters.
 */

const HOST_RULE = 'a host name or IP address (letters, digits, "." and "-", not starting with "-"; IPv6 in brackets or bare)';
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const USER_RULE = 'a user name: letters, digits, "_", "." and "-", starting with a letter or "_", at most 32 characters';
const SAFE_PATH_CHARS = /^[A-Za-z0-9._/@+~-]+$/;
const UNIT = /^[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,250}$/;
const UNIT_RULE = 'a systemd unit name such as my_api.service or my_api (letters, digits, ":", "_", ".", "@", "-", not starting with "-")';
const ABS_PATH_RULE = 'an absolute path such as /var/app: letters, digits, ".", "_", "-", "+", "@" and "/", without ".." segments or whitespace';
const KEY_PATH_RULE = 'a path to a private key file (absolute, ~/..., or relative to fraises.yaml), not starting with "-", without whitespace';

function hasDotDot(path: string): boolean {
  return path.split('/').some((segment) => segment === '..');
}

const argv = (what: string) =>
  allowed(
    z
      .array(z.string().min(1, 'an empty argument').refine((s) => !s.includes('\0'), 'an argument with a NUL byte'))
      .min(1, 'an empty command'),
    'a command as a list of arguments, e.g. ["npm", "ci"] (run without a shell, in the release directory)',
  ).describe(`${what}, as a list of arguments run without a shell in the new release directory, e.g. ["npm", "ci"].`);

/** `config:` of an environment whose provider is bare_metal. */
export const bareMetalConfigSchema = z
  .strictObject({
    ssh_host: allowed(
      z.string().regex(HOST_PATTERN, HOST_RULE),
      HOST_RULE,
    ).describe('Host to deploy to over SSH (host name or IP address).'),
    ssh_user: allowed(z.string().regex(USER, USER_RULE), USER_RULE).describe('User to log in as.'),
    ssh_port: allowed(z.int().min(1).max(65_535), 'an integer from 1 to 65535')
      .default(22)
      .describe('SSH port.'),
    ssh_key: allowed(
      z
        .string()
        .min(1)
        .refine((p) => !p.startsWith('-') && SAFE_PATH_CHARS.test(p), KEY_PATH_RULE),
      KEY_PATH_RULE,
    )
      .optional()
      .describe('Private key to use (default: the SSH agent and ~/.ssh/config). Relative paths resolve against fraises.yaml.'),
    app_path: allowed(
      z
        .string()
        .refine((p) => p.startsWith('/') && p.length > 1 && SAFE_PATH_CHARS.test(p) && !hasDotDot(p), ABS_PATH_RULE),
      ABS_PATH_RULE,
    ).describe('Absolute directory of the application on the host; releases go in <app_path>/releases, the live one is the <app_path>/current symlink.'),
    service_manager: allowed(z.enum(['systemd', 'none']), 'systemd (restart a systemd unit) or none (nothing to restart)')
      .default('systemd')
      .describe('What restarts the application after the symlink switch: systemd, or none.'),
    systemd_service: allowed(z.string().regex(UNIT, UNIT_RULE), UNIT_RULE)
      .optional()
      .describe('The systemd unit to restart (required when service_manager is systemd), e.g. my_api.service.'),
    releases_to_keep: allowed(z.int().min(1).max(100), 'an integer from 1 to 100')
      .optional()
      .describe('Release directories kept on the host (default: the environment\'s retain).'),
    build: argv('Build command').optional(),
    install: argv('Install command').optional(),
  })
  .superRefine((value, ctx) => {
    if (value.service_manager === 'systemd' && value.systemd_service === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['systemd_service'],
        input: undefined,
        message: 'required when service_manager is systemd',
        params: { allowed: `${UNIT_RULE}; or set service_manager: none` },
      });
    }
  })
  .describe('Release directories on a server over SSH, switched by a symlink, restarted by a service manager.');

export type BareMetalConfig = z.infer<typeof bareMetalConfigSchema>;
