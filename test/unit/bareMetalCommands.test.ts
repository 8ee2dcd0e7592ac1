/**
 * The bare_metal provider's commands: the one quoting function against hostile input (run through real shells),
 * the ssh argv, the systemd/journalctl builders, and the remote scripts run for real with sh on a temp dir and a
 * real git repository (no ssh needed: what ssh would run is exactly `sh -c <the quoted line>`).
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareMetalConfigSchema } from '../../config/providers/bare_metal';
import * as cmd from '../../activities/providers/bare_metal/commands';
import { sshFailureKind } from '../../activities/providers/bare_metal/connection';
import {
  commandSetVerdict,
  logsCommand,
  requiredCommands,
  serviceCommands,
  serviceManagerOf,
  statusCommand,
  systemdVerdict,
} from '../../activities/providers/bare_metal/serviceManager';
import { remoteCommandLine, shellQuote, UnquotableError } from '../../activities/providers/bare_metal/shell';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fraisier-bm-cmd-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** What a remote login shell does with the line ssh sends: `<shell> -c <line>`. */
async function viaShell(shell: string, line: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa(shell, ['-c', line], { reject: false, stripFinalNewline: false });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const run = (remote: cmd.RemoteCommand) => viaShell('sh', remoteCommandLine(remote.argv));

describe('shellQuote: every value reaches the remote command as one literal word', () => {
  const pwned = () => path.join(tmp, 'pwned');
  const hostile = [
    "it's",
    "''",
    '"double" "quotes"',
    '$(touch PWNED)',
    '`touch PWNED`',
    '${HOME}',
    '$HOME',
    'a; touch PWNED',
    'a && touch PWNED',
    'a | touch PWNED',
    'line1\nline2\ntouch PWNED',
    '\r\n',
    '-rf',
    '--help',
    '-',
    'two  spaces  ',
    ' leading space',
    '\t tab',
    'unicode: fraisier 🍓 ñ ü 漢字',
    '*',
    '~',
    '!event',
    '\\backslash\\',
    "'; touch PWNED; echo '",
    '\'"$(touch PWNED)"\'',
    '',
    '#comment',
    '>redirect',
    '{a,b}',
  ].map((v) => v.replaceAll('PWNED', '$PWNED_PATH'));

  for (const shell of ['sh', 'bash']) {
    it.each(hostile)(`${shell} gets %j back unchanged`, async (value) => {
      const line = remoteCommandLine(['printf', '%s', value]);
      const r = await execa(shell, ['-c', line], { reject: false, stripFinalNewline: false, env: { PWNED_PATH: pwned() } });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(value);
      expect(existsSync(pwned())).toBe(false);
    });
  }

  it('survives two shells: an argument of a constant script run with sh -c, inside the line ssh sends', async () => {
    for (const value of hostile) {
      const r = await run({ argv: ['sh', '-c', 'printf "%s|%s" "$1" "$2"', 'fraisier', value, value], what: 't', timeoutMs: 1000 });
      expect(r.stdout).toBe(`${value}|${value}`);
    }
    expect(existsSync(pwned())).toBe(false);
  });

  it('keeps a leading dash as data (commands put -- before operands)', async () => {
    const r = await run({ argv: ['printf', '%s\n', '-n', '--version'], what: 't', timeoutMs: 1000 });
    expect(r.stdout).toBe('-n\n--version\n');
  });

  it('refuses a NUL byte and an empty command', () => {
    expect(() => shellQuote('a\0b')).toThrow(UnquotableError);
    expect(() => remoteCommandLine([])).toThrow(/empty command/);
  });

  it('quotes every word, even a plain one', () => {
    expect(shellQuote('abc')).toBe("'abc'");
    expect(shellQuote("a'b")).toBe("'a'\\''b'");
    expect(remoteCommandLine(['echo', 'a b'])).toBe("'echo' 'a b'");
  });
});

describe('ssh argv', () => {
  const settings: cmd.SshSettings = {
    host: 'deploy.example.com',
    port: 2222,
    user: 'deploy',
    keyPath: '/keys/id_ed25519',
    knownHostsPath: '/data/ssh/known_hosts',
    hostKeyChecking: 'yes',
    controlDir: '/tmp/fraisier-ssh-0',
    connectTimeoutSeconds: 10,
    persistSeconds: 120,
  };

  it('authenticates by key only, checks the host key, shares one connection, and puts -- before the host', () => {
    const argv = cmd.sshArgv(settings, "'true'");
    const opts = argv.flatMap((a, i) => (argv[i - 1] === '-o' ? [a] : []));
    expect(argv[0]).toBe('ssh');
    expect(argv.slice(argv.indexOf('-p'), argv.indexOf('-p') + 2)).toEqual(['-p', '2222']);
    expect(argv.slice(argv.indexOf('-i'), argv.indexOf('-i') + 2)).toEqual(['-i', '/keys/id_ed25519']);
    expect(opts).toEqual(
      expect.arrayContaining([
        'BatchMode=yes',
        'IdentitiesOnly=yes',
        'ConnectTimeout=10',
        'StrictHostKeyChecking=yes',
        'UserKnownHostsFile=/data/ssh/known_hosts',
        'GlobalKnownHostsFile=/dev/null',
        'ControlMaster=auto',
        'ControlPersist=120',
      ]),
    );
    expect(opts.some((o) => /StrictHostKeyChecking=no/.test(o))).toBe(false);
    expect(opts.find((o) => o.startsWith('ControlPath='))).toMatch(/^ControlPath=\/tmp\/fraisier-ssh-0\/[0-9a-f]{12}-%C$/);
    expect(argv.slice(-4)).toEqual(['deploy', '--', 'deploy.example.com', "'true'"]);
  });

  it('never shares a connection between targets that authenticate or verify differently', () => {
    const paths = [
      settings,
      { ...settings, keyPath: '/keys/other' },
      { ...settings, knownHostsPath: '/data/other_known_hosts' },
      { ...settings, hostKeyChecking: 'accept-new' as const },
    ].map(cmd.controlPath);
    expect(new Set(paths).size).toBe(4);
    expect(cmd.controlPath({ ...settings, host: 'elsewhere' })).toBe(paths[0]);
  });

  it('accepts new host keys only when told to, and takes IPv6 without brackets', () => {
    const argv = cmd.sshArgv({ ...settings, hostKeyChecking: 'accept-new', host: '[::1]' }, "'true'");
    expect(argv).toContain('StrictHostKeyChecking=accept-new');
    expect(argv.at(-2)).toBe('::1');
  });

  it('refuses values ssh would read as options or split', () => {
    expect(() => cmd.sshArgv({ ...settings, host: '-oProxyCommand=touch x' }, 'x')).toThrow(/host/);
    expect(() => cmd.sshArgv({ ...settings, user: '-oProxyCommand' }, 'x')).toThrow(/user/);
    expect(() => cmd.sshArgv({ ...settings, keyPath: '/keys/my key' }, 'x')).toThrow(/key path/);
    expect(() => cmd.sshArgv({ ...settings, knownHostsPath: '/x/%h' }, 'x')).toThrow(/known_hosts/);
  });

  it('sshCommand sends the remote argv as one quoted line', () => {
    const spec = cmd.sshCommand(settings, { argv: ['echo', "it's; rm -rf /"], what: 't', timeoutMs: 5000 });
    expect(spec.argv.at(-1)).toBe("'echo' 'it'\\''s; rm -rf /'");
    expect(spec.timeoutMs).toBe(5000);
  });

  it('tells ssh failures apart from the remote command exiting 255', () => {
    const r = (stderr: string, exitCode = 255) => ({ argv: [], exitCode, stdout: '', stderr });
    expect(sshFailureKind(r('Host key verification failed.'))).toBe('host-key');
    expect(sshFailureKind(r('No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.'))).toBe('host-key');
    expect(sshFailureKind(r('deploy@127.0.0.1: Permission denied (publickey).'))).toBe('auth');
    expect(sshFailureKind(r('ssh: connect to host 127.0.0.1 port 1: Connection refused'))).toBe('unreachable');
    expect(sshFailureKind(r('ssh: Could not resolve hostname nope.invalid: Name or service not known'))).toBe('resolve');
    expect(sshFailureKind(r('my app exited 255'))).toBeNull();
    expect(sshFailureKind(r('Permission denied (publickey).', 1))).toBeNull();
  });
});

describe('service managers', () => {
  const base = { ssh_host: 'h', ssh_user: 'u', app_path: '/srv/app', repo: '/srv/repo.git' };
  const parse = (extra: Record<string, unknown>) => bareMetalConfigSchema.parse({ ...base, ...extra });

  it('systemd: systemctl and journalctl, with sudo -n when asked', () => {
    const m = serviceManagerOf(parse({ systemd_service: 'api.service' }));
    expect(serviceCommands(m, 'restart').map((c) => c.argv)).toEqual([['systemctl', 'restart', '--', 'api.service']]);
    expect(serviceCommands(m, 'stop').map((c) => c.argv)).toEqual([['systemctl', 'stop', '--', 'api.service']]);
    expect(statusCommand(m)?.argv).toEqual(['systemctl', 'show', '--property=LoadState', '--property=ActiveState', '--property=SubState', '--', 'api.service']);
    expect(logsCommand(m, 50)?.argv).toEqual(['journalctl', '-u', 'api.service', '-n', '50', '--no-pager']);
    const s = serviceManagerOf(parse({ systemd_service: 'api.service', sudo: true }));
    expect(serviceCommands(s, 'start').map((c) => c.argv)).toEqual([['sudo', '-n', '--', 'systemctl', 'start', '--', 'api.service']]);
    expect(logsCommand(s, 10)?.argv).toEqual(['sudo', '-n', '--', 'journalctl', '-u', 'api.service', '-n', '10', '--no-pager']);
    expect(requiredCommands(s)).toEqual(['sudo', 'systemctl', 'journalctl']);
  });

  it('systemd states become verdicts', () => {
    expect(systemdVerdict('a', 'LoadState=loaded\nActiveState=active\nSubState=running\n').state).toBe('running');
    expect(systemdVerdict('a', 'LoadState=loaded\nActiveState=activating\nSubState=auto-restart').state).toBe('starting');
    expect(systemdVerdict('a', 'LoadState=loaded\nActiveState=failed\nSubState=failed').state).toBe('failed');
    expect(systemdVerdict('a', 'LoadState=loaded\nActiveState=inactive\nSubState=dead').state).toBe('stopped');
    const absent = systemdVerdict('nope.service', 'LoadState=not-found\nActiveState=inactive\nSubState=dead');
    expect(absent).toEqual({ state: 'absent', detail: 'nope.service is not a known unit on the server' });
  });

  it('a command set runs in app_path; without restart it stops then starts; logs keep the last lines', async () => {
    const m = serviceManagerOf(parse({ service_manager: { start: ['bin/up', 'x y'], stop: ['bin/down'], status: ['bin/st'], logs: ['cat', 'log'] } }));
    const restart = serviceCommands(m, 'restart');
    expect(restart.map((c) => c.argv.slice(4))).toEqual([['/srv/app', 'bin/down'], ['/srv/app', 'bin/up', 'x y']]);
    expect(requiredCommands(m)).toEqual(['bin/up', 'bin/down', 'bin/st', 'cat']);
    const app = path.join(tmp, 'cs-app');
    await fs.mkdir(app, { recursive: true });
    await fs.writeFile(path.join(app, 'log'), Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
    const m2 = serviceManagerOf(parse({ app_path: app, service_manager: { start: ['true'], stop: ['true'], status: ['sh', '-c', 'echo "in $(pwd)"; exit 3'], logs: ['cat', 'log'] } }));
    const logs = logsCommand(m2, 3);
    expect(logs).not.toBeNull();
    expect((await run(logs as cmd.RemoteCommand)).stdout).toBe('line 28\nline 29\nline 30\n');
    const st = await run(statusCommand(m2) as cmd.RemoteCommand);
    expect(commandSetVerdict(st.exitCode, st.stdout)).toEqual({ state: 'stopped', detail: `in ${app} (status command exit 3)` });
    expect(commandSetVerdict(0, 'running (pid 3)\n').state).toBe('running');
  });

  it('none has nothing to run', () => {
    const m = serviceManagerOf(parse({ service_manager: 'none' }));
    expect(serviceCommands(m, 'restart')).toEqual([]);
    expect(statusCommand(m)).toBeNull();
    expect(logsCommand(m, 5)).toBeNull();
  });
});

describe('remote scripts, run with sh on a real directory and a real git repository', () => {
  let repo: string;
  let app: string;
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    repo = path.join(tmp, 'repo');
    app = path.join(tmp, 'app');
    const git = (...args: string[]) => execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo });
    await fs.mkdir(repo);
    await git('init', '-q');
    for (const v of ['v1', 'v2']) {
      await fs.writeFile(path.join(repo, 'VERSION'), `${v}\n`);
      await git('add', 'VERSION');
      await git('commit', '-qm', v);
      await git('tag', '-a', v, '-m', v);
      commits[v] = String((await git('rev-parse', 'HEAD')).stdout).trim();
    }
  });

  it('fetches exactly a tag, or a full commit id, and says when there is neither', async () => {
    const f = await run(cmd.fetchRelease(app, 'v1', repo));
    expect(f.stderr).toBe('');
    expect(f.exitCode).toBe(0);
    expect(f.stdout.trim()).toBe(commits.v1);
    expect(await fs.readFile(path.join(app, 'releases/v1/VERSION'), 'utf8')).toBe('v1\n');
    const bySha = await run(cmd.fetchRelease(app, commits.v1 as string, repo));
    expect(bySha.exitCode).toBe(0);
    expect(bySha.stdout.trim()).toBe(commits.v1);
    const missing = await run(cmd.fetchRelease(app, 'v9', repo));
    expect(missing.exitCode).toBe(cmd.NO_SUCH_VERSION_EXIT);
    expect(missing.stderr).toContain(`no tag v9 in ${repo}`);
    expect(existsSync(path.join(app, 'releases/v9'))).toBe(false);
    const badRepo = await run(cmd.fetchRelease(app, 'v2', path.join(tmp, 'no-such-repo')));
    expect(badRepo.exitCode).toBe(1);
    expect(existsSync(path.join(app, 'releases/v2'))).toBe(false);
    await fs.rm(path.join(app, 'releases', commits.v1 as string), { recursive: true });
  });

  it('tells complete, partial and absent releases apart; a fetch replaces a partial one', async () => {
    const state = async (v: string) => (await run(cmd.releaseState(app, v))).stdout.split('\n')[0];
    expect(await state('v1')).toBe('release partial');
    expect((await run(cmd.markComplete(app, 'v1', commits.v1 as string))).exitCode).toBe(0);
    expect(await state('v1')).toBe(`release complete ${commits.v1}`);
    expect(await state('v2')).toBe('release absent');
    await fs.mkdir(path.join(app, 'releases/v2'), { recursive: true });
    await fs.writeFile(path.join(app, 'releases/v2/half-written'), 'x');
    expect(await state('v2')).toBe('release partial');
    expect((await run(cmd.fetchRelease(app, 'v2', repo))).exitCode).toBe(0);
    expect(existsSync(path.join(app, 'releases/v2/half-written'))).toBe(false);
    expect((await run(cmd.markComplete(app, 'v2', commits.v2 as string))).exitCode).toBe(0);
  });

  it('switches current with a rename, keeps previous, and refuses an incomplete release', async () => {
    let r = await run(cmd.switchCurrent(app, 'v1'));
    expect(r.stdout.trim()).toBe('switched - releases/v1');
    r = await run(cmd.switchCurrent(app, 'v2'));
    expect(r.stdout.trim()).toBe('switched releases/v1 releases/v2');
    expect(await fs.readlink(path.join(app, 'current'))).toBe('releases/v2');
    expect(await fs.readlink(path.join(app, 'previous'))).toBe('releases/v1');
    expect(await fs.readFile(path.join(app, 'current/VERSION'), 'utf8')).toBe('v2\n');
    await fs.mkdir(path.join(app, 'releases/v3'));
    r = await run(cmd.switchCurrent(app, 'v3'));
    expect(r.exitCode).toBe(cmd.INCOMPLETE_RELEASE_EXIT);
    expect(await fs.readlink(path.join(app, 'current'))).toBe('releases/v2');
    expect(existsSync(path.join(app, '.current.new'))).toBe(false);
  });

  it('lists and removes release directories by name', async () => {
    const list = (await run(cmd.listReleases(app))).stdout.trim().split('\n').sort();
    expect(list).toEqual(['current releases/v2', 'previous releases/v1', `release v1 complete ${commits.v1}`, `release v2 complete ${commits.v2}`, 'release v3 partial'].sort());
    expect((await run(cmd.removeReleases(app, ['v3']))).exitCode).toBe(0);
    expect(existsSync(path.join(app, 'releases/v3'))).toBe(false);
    expect(() => cmd.removeReleases(app, ['../etc'])).toThrow(/release/);
    expect(() => cmd.removeReleases(app, ['a/b'])).toThrow(/release/);
  });

  it('pre-flight facts: the login, the commands present, where app_path would be written', async () => {
    const r = await run(cmd.preflightFacts(path.join(tmp, 'new/app'), ['git', 'no-such-command-xyz']));
    expect(r.stdout).toContain(`login ${os.userInfo().username}`);
    expect(r.stdout).toContain('command git yes');
    expect(r.stdout).toContain('command no-such-command-xyz no');
    expect(r.stdout).toContain(`writable yes ${tmp}`);
    expect(existsSync(path.join(tmp, 'new'))).toBe(false);
  });

  it('builders refuse what the config rules out', () => {
    expect(() => cmd.releaseState('relative/path', 'v1')).toThrow(/app_path/);
    expect(() => cmd.releaseState('/srv/../etc', 'v1')).toThrow(/app_path/);
    expect(() => cmd.switchCurrent('/srv/app', '$(reboot)')).toThrow(/release/);
    expect(() => cmd.fetchRelease('/srv/app', 'v1', '--upload-pack=touch x')).toThrow(/repository/);
    expect(() => cmd.markComplete('/srv/app', 'v1', 'not-a-sha')).toThrow(/commit/);
  });
});
