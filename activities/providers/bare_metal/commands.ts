/**
 * Every command the bare_metal provider runs, as pure data (in the manner of Kamal's command classes): the local
 * `ssh` argv, and the remote argv it carries. Remote scripts are constants that read their values from positional
 * parameters; values travel as argv elements quoted by shell.ts's one quoting function. Nothing here runs anything.
 */
import { createHash } from 'node:crypto';
import type { CommandSpec } from '../../commandRunner';
import { remoteCommandLine } from './shell';

/** What a remote step is: the argv the server runs, what it is for (messages), and its bound. */
export interface RemoteCommand {
  argv: readonly string[];
  what: string;
  timeoutMs: number;
}

export interface SshSettings {
  host: string;
  port: number;
  user: string;
  /** Private key (absolute, on the worker); absent: the agent and ~/.ssh/config decide. */
  keyPath?: string;
  /** known_hosts file on the worker that the host key is checked against (and recorded in, with accept-new). */
  knownHostsPath: string;
  hostKeyChecking: 'yes' | 'accept-new';
  /** Private (0700) directory on the worker holding the connection-sharing sockets. */
  controlDir: string;
  connectTimeoutSeconds: number;
  /** How long an idle shared connection stays open after its last command. */
  persistSeconds: number;
}

export const TIMEOUTS = {
  probe: 30_000,
  fetch: 10 * 60_000,
  service: 2 * 60_000,
  files: 60_000,
  logs: 60_000,
} as const;

/** ssh expands %-tokens and splits -o values on whitespace and quotes: paths handed to it must have neither. */
const SSH_SAFE_PATH = /^\/[A-Za-z0-9._/@+~-]*$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const HOST = /^(?!-)[A-Za-z0-9.:_-]+$/;

function checked(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new Error(`refusing to build an ssh command with ${what} ${JSON.stringify(value)}`);
  return value;
}

/** The host as ssh takes it: an IPv6 address without the brackets the config may have. */
export function sshHost(host: string): string {
  return checked(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, HOST, 'host');
}

/**
 * The shared connection's socket: ssh's %C (local host, remote host, port, user) plus what authenticates and
 * verifies the connection, so that a target with another key or known_hosts never rides on a connection that
 * someone else's settings opened.
 */
export function controlPath(s: SshSettings): string {
  const auth = createHash('sha256')
    .update(JSON.stringify([s.keyPath ?? '', s.knownHostsPath, s.hostKeyChecking]))
    .digest('hex')
    .slice(0, 12);
  return `${checked(s.controlDir, SSH_SAFE_PATH, 'control directory')}/${auth}-%C`;
}

/**
 * The local argv of `ssh` running `remoteLine` on the server: key authentication only (BatchMode, no password
 * prompt), a bounded connect, the host key checked against fraisier's known_hosts (never disabled), and one shared
 * connection per target (ControlMaster/ControlPersist, socket in a private directory) so a deploy pays one handshake.
 */
export function sshArgv(s: SshSettings, remoteLine: string): string[] {
  const opt = (o: string): string[] => ['-o', o];
  return [
    'ssh',
    '-T',
    '-p',
    String(s.port),
    ...(s.keyPath ? ['-i', checked(s.keyPath, SSH_SAFE_PATH, 'key path'), ...opt('IdentitiesOnly=yes')] : []),
    ...opt('BatchMode=yes'),
    ...opt('PasswordAuthentication=no'),
    ...opt('KbdInteractiveAuthentication=no'),
    ...opt(`ConnectTimeout=${Math.max(1, Math.round(s.connectTimeoutSeconds))}`),
    ...opt(`StrictHostKeyChecking=${s.hostKeyChecking}`),
    ...opt(`UserKnownHostsFile=${checked(s.knownHostsPath, SSH_SAFE_PATH, 'known_hosts path')}`),
    ...opt('GlobalKnownHostsFile=/dev/null'),
    ...opt('UpdateHostKeys=no'),
    ...opt('ControlMaster=auto'),
    ...opt(`ControlPath=${controlPath(s)}`),
    ...opt(`ControlPersist=${Math.max(1, Math.round(s.persistSeconds))}`),
    ...opt('ServerAliveInterval=15'),
    ...opt('ServerAliveCountMax=3'),
    ...opt('LogLevel=ERROR'),
    '-l',
    checked(s.user, USER, 'user'),
    '--',
    sshHost(s.host),
    remoteLine,
  ];
}

/** The local command that runs `remote` on the server. */
export function sshCommand(s: SshSettings, remote: RemoteCommand): CommandSpec {
  return { argv: sshArgv(s, remoteCommandLine(remote.argv)), timeoutMs: remote.timeoutMs };
}

/** A constant POSIX sh script run with positional parameters: `sh -c SCRIPT fraisier ARG…` ($0 is "fraisier"). */
function script(text: string, args: readonly string[], what: string, timeoutMs: number): RemoteCommand {
  return { argv: ['sh', '-c', text, 'fraisier', ...args], what, timeoutMs };
}

/** A version as the name of its release directory: the version rule already holds, this refuses anything else. */
const RELEASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const ABS_PATH = /^\/[A-Za-z0-9._/@+~-]*$/;

function releaseName(version: string): string {
  if (!RELEASE_NAME.test(version) || version.includes('..')) throw new Error(`refusing to build a remote command with release ${JSON.stringify(version)}`);
  return version;
}

function appPath(path: string): string {
  if (!ABS_PATH.test(path) || path.split('/').includes('..')) throw new Error(`refusing to build a remote command with app_path ${JSON.stringify(path)}`);
  return path;
}

/** Written in a release directory once it is fetched and built: its presence is what "complete" means. */
export const RELEASE_MARKER = '.fraisier-release';

export const releaseDir = (app: string, version: string): string => `${appPath(app)}/releases/${releaseName(version)}`;

/** Prints `release complete <commit>` | `release partial` | `release absent`, then `current <symlink target>`. */
export function releaseState(app: string, version: string): RemoteCommand {
  return script(
    `d="$1/releases/$2"
if [ -f "$d/${RELEASE_MARKER}" ]; then printf 'release complete %s\\n' "$(cat "$d/${RELEASE_MARKER}")"
elif [ -e "$d" ] || [ -L "$d" ]; then echo 'release partial'
else echo 'release absent'; fi
printf 'current %s\\n' "$(readlink "$1/current" 2>/dev/null)"`,
    [appPath(app), releaseName(version)],
    `looking at release ${version}`,
    TIMEOUTS.probe,
  );
}

/** Exit status of fetchRelease when the repository has neither a tag nor a commit by that name. */
export const NO_SUCH_VERSION_EXIT = 3;

/**
 * Replaces whatever is at releases/<version> (a partial directory from an interrupted attempt) with the repository
 * at exactly that tag (refs/tags/<version>), or at that commit when the version is a full commit id; prints the
 * commit. A fetch that fails removes what it wrote. Never moves `current`.
 */
export function fetchRelease(app: string, version: string, repo: string): RemoteCommand {
  if (repo.startsWith('-') || repo.includes('\0')) throw new Error(`refusing to fetch from repository ${JSON.stringify(repo)}`);
  return script(
    `set -e
d="$1/releases/$2"
mkdir -p "$1/releases"
rm -rf -- "$d"
trap 'rc=$?; [ "$rc" -eq 0 ] || rm -rf -- "$d"' EXIT
git init -q -- "$d"
cd "$d"
if out=$(git fetch -q --depth 1 -- "$3" "refs/tags/$2" 2>&1); then :
else
  case $out in
  *"couldn't find remote ref"*)
    if printf '%s' "$2" | grep -Eq '^[0-9a-f]{40}$' && git fetch -q --depth 1 -- "$3" "$2"; then :
    else printf 'no tag %s in %s, and it is not a full commit id there\\n' "$2" "$3" >&2; exit ${NO_SUCH_VERSION_EXIT}; fi ;;
  *) printf '%s\\n' "$out" >&2; exit 1 ;;
  esac
fi
git -c advice.detachedHead=false checkout -q --detach 'FETCH_HEAD^{commit}'
git rev-parse HEAD`,
    [appPath(app), releaseName(version), repo],
    `fetching ${version} from ${repo}`,
    TIMEOUTS.fetch,
  );
}

/** Runs a configured command (install, build, a service command) in `dir`. */
export function runIn(dir: string, argv: readonly string[], what: string, timeoutMs: number): RemoteCommand {
  if (argv.length === 0) throw new Error(`refusing to run an empty ${what} command`);
  return script('cd "$1" && shift && exec "$@"', [appPath(dir), ...argv], what, timeoutMs);
}

/** Marks a release directory complete (records its commit in it). */
export function markComplete(app: string, version: string, commit: string): RemoteCommand {
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`refusing to record commit ${JSON.stringify(commit)}`);
  return script(
    `printf '%s\\n' "$3" > "$1/releases/$2/${RELEASE_MARKER}.tmp" && mv -f -- "$1/releases/$2/${RELEASE_MARKER}.tmp" "$1/releases/$2/${RELEASE_MARKER}"`,
    [appPath(app), releaseName(version), commit],
    `marking release ${version} complete`,
    TIMEOUTS.files,
  );
}

/** Exit status of switchCurrent when the release is not complete on the server. */
export const INCOMPLETE_RELEASE_EXIT = 3;

/**
 * Points `current` at releases/<version> atomically: a new symlink beside it, renamed over it (rename(2) replaces
 * the old link in one step, so `current` is never missing nor half-written). The release it pointed at becomes
 * `previous`. Prints `switched <old> <new>`. Refuses a release without its completion marker.
 */
export function switchCurrent(app: string, version: string): RemoteCommand {
  return script(
    `set -e
new="releases/$2"
[ -f "$1/$new/${RELEASE_MARKER}" ] || { printf 'release %s is not complete in %s\\n' "$2" "$1/releases" >&2; exit ${INCOMPLETE_RELEASE_EXIT}; }
old=$(readlink "$1/current" 2>/dev/null || true)
ln -sfn -- "$new" "$1/.current.new"
mv -fT -- "$1/.current.new" "$1/current"
if [ -n "$old" ] && [ "$old" != "$new" ]; then
  ln -sfn -- "$old" "$1/.previous.new"
  mv -fT -- "$1/.previous.new" "$1/previous"
fi
printf 'switched %s %s\\n' "\${old:--}" "$new"`,
    [appPath(app), releaseName(version)],
    `switching ${app}/current to release ${version}`,
    TIMEOUTS.files,
  );
}

/**
 * Lists the release directories: `current <target>`, `previous <target>`, then one `release <name> complete|partial`
 * per entry of releases/.
 */
export function listReleases(app: string): RemoteCommand {
  return script(
    `printf 'current %s\\n' "$(readlink "$1/current" 2>/dev/null)"
printf 'previous %s\\n' "$(readlink "$1/previous" 2>/dev/null)"
[ -d "$1/releases" ] || exit 0
for d in "$1"/releases/* "$1"/releases/.[!.]*; do
  [ -e "$d" ] || [ -L "$d" ] || continue
  n=\${d##*/}
  if [ -f "$d/${RELEASE_MARKER}" ]; then printf 'release %s complete %s\\n' "$n" "$(cat "$d/${RELEASE_MARKER}")"; else printf 'release %s partial\\n' "$n"; fi
done`,
    [appPath(app)],
    `listing the releases in ${app}/releases`,
    TIMEOUTS.files,
  );
}

/** Removes the named release directories (names are checked: never a path, never `..`). */
export function removeReleases(app: string, names: readonly string[]): RemoteCommand {
  return script(
    `app=$1; shift
for n in "$@"; do rm -rf -- "$app/releases/$n"; done`,
    [appPath(app), ...names.map(releaseName)],
    `removing ${names.length} release director${names.length === 1 ? 'y' : 'ies'}`,
    TIMEOUTS.files * 5,
  );
}

/** Removes every release and the current/previous links (app_path itself and anything else in it stay). */
export function removeAll(app: string): RemoteCommand {
  return script(
    'rm -rf -- "$1/releases" "$1/current" "$1/previous" "$1/.current.new" "$1/.previous.new"',
    [appPath(app)],
    `removing the releases in ${app}`,
    TIMEOUTS.files * 5,
  );
}

/**
 * Pre-flight facts, without changing anything: `login <user>`, one `command <name> yes|no` per required command,
 * and `writable yes|no <dir>`: app_path, or the nearest directory above it when it does not exist yet.
 */
export function preflightFacts(app: string, commands: readonly string[]): RemoteCommand {
  return script(
    `app=$1; shift
printf 'login %s\\n' "$(id -un)"
for c in "$@"; do
  if command -v "$c" >/dev/null 2>&1; then printf 'command %s yes\\n' "$c"; else printf 'command %s no\\n' "$c"; fi
done
d=$app
while [ ! -e "$d" ] && [ "$d" != / ]; do d=$(dirname "$d"); done
ok=yes
[ -d "$d" ] && [ -w "$d" ] || ok=no
if [ "$d" = "$app" ] && [ -e "$app/releases" ] && ! [ -w "$app/releases" ]; then ok=no; d=$app/releases; fi
printf 'writable %s %s\\n' "$ok" "$d"`,
    [appPath(app), ...commands],
    'checking the server',
    TIMEOUTS.probe,
  );
}

/** One HTTP GET from the server itself (curl): prints the body, then the status on a last line of its own. */
export function httpProbeFromServer(url: string, timeoutSeconds: number): RemoteCommand {
  if (!/^https?:\/\/[^\s'"\\]+$/.test(url)) throw new Error(`refusing to probe URL ${JSON.stringify(url)}`);
  const t = String(Math.max(1, Math.ceil(timeoutSeconds)));
  return {
    argv: ['curl', '-sS', '--max-time', t, '--max-filesize', '65536', '-w', '\\n%{http_code}', '--url', url],
    what: `GET ${url} from the server`,
    timeoutMs: (Number(t) + 10) * 1000,
  };
}

/** One TCP connect from the server itself (bash's /dev/tcp, bounded by timeout). */
export function tcpProbeFromServer(host: string, port: number, timeoutSeconds: number): RemoteCommand {
  const t = String(Math.max(1, Math.ceil(timeoutSeconds)));
  return {
    argv: ['timeout', t, 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', 'fraisier', sshHost(host), String(Math.trunc(port))],
    what: `TCP ${host}:${port} from the server`,
    timeoutMs: (Number(t) + 10) * 1000,
  };
}
