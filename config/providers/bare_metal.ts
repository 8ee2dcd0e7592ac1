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

const argv = (what: string, where: string) =>
  allowed(
    z
      .array(z.string().min(1, 'an empty argument').refine((s) => !s.includes('\0'), 'an argument with a NUL byte'))
      .min(1, 'an empty command'),
    `a command as a list of arguments, e.g. ["npm", "ci"] (each argument quoted for the server's shell, run in ${where})`,
  ).describe(`${what}, as a list of arguments run on the server in ${where}, each quoted for its shell, e.g. ["npm", "ci"].`);

const PATH_RULE = 'a path on the worker (absolute, ~/..., or relative to fraises.yaml), not starting with "-", without whitespace';
const workerPath = (rule: string) =>
  allowed(
    z
      .string()
      .min(1)
      .refine((p) => !p.startsWith('-') && SAFE_PATH_CHARS.test(p), rule),
    rule,
  );

const REPO_RULE =
  'a git URL (ssh://, https://, git@host:path, file://) or an absolute path on the server; no whitespace, quotes or shell metacharacters, not starting with "-"';
/** What `git fetch` takes as a repository: URLs, scp-like addresses, paths; never an option, never a shell word. */
const REPO = /^(?!-)[A-Za-z0-9._/@:+~=%-]+$/;

/** A service manager given as commands run on the server (in app_path): for hosts without systemd. */
const commandSetSchema = z
  .strictObject({
    start: argv('Start command', 'app_path'),
    stop: argv('Stop command', 'app_path'),
    restart: argv('Restart command (default: stop, then start)', 'app_path').optional(),
    status: argv('Status command: exit 0 when the service runs, non-zero when it does not; its output is shown', 'app_path'),
    logs: argv('Logs command: prints the service\'s log; fraisier keeps the last lines', 'app_path').optional(),
  })
  .describe('Commands that start, stop, restart and report on the service (argument lists, run on the server in app_path).');

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
    ssh_key_path: workerPath(KEY_PATH_RULE)
      .optional()
      .describe('Private key to log in with (default: the SSH agent and ~/.ssh/config). Relative paths resolve against fraises.yaml.'),
    ssh_key: workerPath(KEY_PATH_RULE).optional().describe('Older name of ssh_key_path.'),
    known_hosts: workerPath(PATH_RULE)
      .optional()
      .describe('known_hosts file the host key is checked against (default: <data dir>/ssh/known_hosts on the worker, which fraisier keeps).'),
    host_key_checking: allowed(z.enum(['yes', 'accept-new']), 'yes (the host key must already be in known_hosts) or accept-new (trust and record a host seen for the first time)')
      .default('yes')
      .describe('yes: refuse a host whose key is not in known_hosts; accept-new: record the key of a host seen for the first time (a changed key is always refused).'),
    app_path: allowed(
      z
        .string()
        .refine((p) => p.startsWith('/') && p.length > 1 && SAFE_PATH_CHARS.test(p) && !hasDotDot(p), ABS_PATH_RULE),
      ABS_PATH_RULE,
    ).describe('Absolute directory of the application on the host; releases go in <app_path>/releases, the live one is the <app_path>/current symlink.'),
    repo: allowed(z.string().min(1).max(1024).regex(REPO), REPO_RULE).describe(
      'Git repository the server fetches each version from, as a tag or a full commit id (a URL the server can reach, or a path on the server).',
    ),
    service_manager: allowed(
      z.union([z.enum(['systemd', 'none']), commandSetSchema]),
      'systemd (a systemd unit), none (nothing to restart), or a map of commands {start, stop, restart?, status, logs?}',
    )
      .default('systemd')
      .describe('What runs the application: systemd (the default), none, or a set of commands {start, stop, restart?, status, logs?}.'),
    systemd_service: allowed(z.string().regex(UNIT, UNIT_RULE), UNIT_RULE)
      .optional()
      .describe('The systemd unit to restart (required when service_manager is systemd), e.g. my_api.service.'),
    sudo: z.boolean().default(false).describe('Run the service manager\'s commands (systemctl, journalctl, or the command set) with sudo -n.'),
    releases_to_keep: allowed(z.int().min(1).max(100), 'an integer from 1 to 100')
      .optional()
      .describe('Release directories kept on the host (default: the environment\'s retain); the current and the previous one are always kept.'),
    install: argv('Install command', 'the new release directory').optional(),
    build: argv('Build command', 'the new release directory').optional(),
  })
  .superRefine((value, ctx) => {
    if (value.service_manager === 'systemd' && value.systemd_service === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['systemd_service'],
        input: undefined,
        message: 'required when service_manager is systemd',
        params: { allowed: `${UNIT_RULE}; or set service_manager: none, or a command set` },
      });
    }
    if (value.ssh_key !== undefined && value.ssh_key_path !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ssh_key'],
        input: value.ssh_key,
        message: 'given together with ssh_key_path',
        params: { allowed: 'ssh_key_path only (ssh_key is its older name)' },
      });
    }
  })
  .describe('Release directories on a server over SSH, switched by a symlink, restarted by a service manager.');

export type BareMetalConfig = z.infer<typeof bareMetalConfigSchema>;
export type BareMetalCommandSet = z.infer<typeof commandSetSchema>;
