/**
 * A throwaway OpenSSH server on 127.0.0.1 for one test file: its own host key, a user key pair that may log in,
 * a second key that may not, and a known_hosts file naming the server. Everything lives in a private temp dir
 * that stop() removes.
 *
 * The login user is SSH_TEST_USER (`fraisier-ssh`, created by scripts/setup.sh) when the tests run as root and that
 * user exists; otherwise the current user, with sshd running unprivileged (an unprivileged sshd can only log its own
 * user in). The client side (keys, known_hosts, `ssh`) always runs as the current process user.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { freePort } from '../../workers/devServer';

export const SSHD_BIN = '/usr/sbin/sshd';
/** The OS user the tests log in as when they run as root (scripts/setup.sh creates it). */
export const SSH_TEST_USER = 'fraisier-ssh';
/** sshd's privilege separation directory (Debian's build); it must exist when sshd runs as root. */
const PRIVSEP_DIR = '/run/sshd';
const START_TIMEOUT_MS = 15_000;

export interface SshLoginUser {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

export interface SshResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SshdHandle {
  host: '127.0.0.1';
  port: number;
  /** The user `keyPath` logs in as (see sshLoginUser). */
  user: string;
  uid: number;
  gid: number;
  /** The login user's home directory (sshd's working directory for its commands). */
  home: string;
  /** Private key (0600, owned by the current process user) whose public half is the only authorized key. */
  keyPath: string;
  /** Another private key, not authorized: logins with it are refused. */
  otherKeyPath: string;
  /** The known_hosts line of the server: "[127.0.0.1]:PORT ssh-ed25519 AAAA...". */
  hostKeyLine: string;
  /** A file holding exactly hostKeyLine. */
  knownHostsPath: string;
  /** sshd's output (LogLevel VERBOSE: one "Accepted publickey for ..." line per authenticated connection). */
  logPath: string;
  /** How many "Accepted publickey" lines the log holds so far (one per fresh, authenticated connection). */
  acceptedLogins(): Promise<number>;
  /**
   * mkdir -p `dir` (absolute): the directories it creates get `mode` (default 0755) and belong to the login user.
   * An existing `dir` must already belong to the login user (it is never chowned). Fails when the login user
   * cannot traverse an ancestor. Returns `dir`.
   */
  userDir(dir: string, mode?: number): Promise<string>;
  /** Runs one remote command string as the login user with plain ssh (BatchMode, no multiplexing). */
  ssh(command: string): Promise<SshResult>;
  /** Kills sshd and the sessions it serves, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface SshArgvOptions {
  /** Default: the handle's authorized key. */
  keyPath?: string;
  /** Default: the handle's known_hosts file. */
  knownHostsPath?: string;
}

const runningAsRoot = (): boolean => process.getuid?.() === 0;

/** The user the throwaway sshd lets in: SSH_TEST_USER as root when it exists, else the current user. */
export async function sshLoginUser(): Promise<SshLoginUser> {
  if (runningAsRoot()) {
    const r = await execa('getent', ['passwd', SSH_TEST_USER], { reject: false });
    if (r.exitCode === 0) {
      const fields = r.stdout.trim().split(':');
      const [name, , uid, gid, , home] = fields;
      if (name === undefined || uid === undefined || gid === undefined || home === undefined) {
        throw new Error(`unexpected passwd entry for ${SSH_TEST_USER}: ${r.stdout}`);
      }
      return { user: name, uid: Number(uid), gid: Number(gid), home };
    }
  }
  const me = userInfo();
  return { user: me.username, uid: me.uid, gid: me.gid, home: me.homedir };
}

/**
 * The argv of a plain `ssh` to the handle's server, up to (and including) the destination: append the remote
 * command. Ignores every ssh_config; never multiplexes; never asks anything (BatchMode).
 */
export function sshArgv(h: Pick<SshdHandle, 'host' | 'port' | 'user' | 'keyPath' | 'knownHostsPath'>, opts: SshArgvOptions = {}): string[] {
  return [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-i',
    opts.keyPath ?? h.keyPath,
    '-o',
    `UserKnownHostsFile=${opts.knownHostsPath ?? h.knownHostsPath}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(h.port),
    '-l',
    h.user,
    h.host,
  ];
}


function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function logTail(logPath: string, lines = 30): Promise<string> {
  try {
    return (await readFile(logPath, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no sshd log)';
  }
}

async function keygen(file: string, comment: string): Promise<void> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdin: 'ignore' });
}

/** Pids of the processes below `root` (per-connection sshd processes and the sessions they run). */
async function descendants(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch((): string[] => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    for (const child of pid === undefined ? [] : (children.get(pid) ?? [])) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function sshdConfig(o: {
  port: number;
  hostKey: string;
  authorizedKeys: string;
  pidFile: string;
  user: string;
}): string {
  return [
    `ListenAddress 127.0.0.1`,
    `Port ${o.port}`,
    `HostKey ${o.hostKey}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'UsePAM no',
    // The temp dir is not root-owned/0755 all the way up the way StrictModes wants it.
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'LogLevel VERBOSE',
    `PidFile ${o.pidFile}`,
    'MaxStartups 100',
    // ControlMaster multiplexing opens many sessions on one connection.
    'MaxSessions 100',
    `AllowUsers ${o.user}`,
    'PrintMotd no',
    'PrintLastLog no',
    '',
  ].join('\n');
}

/** sshd in the foreground (-D), logging to stderr (-e); both its outputs are appended to the log file. */
function spawnSshd(configPath: string, logPath: string) {
  const log = { file: logPath, append: true } as const;
  return execa(SSHD_BIN, ['-D', '-e', '-f', configPath], { stdin: 'ignore', stdout: log, stderr: log, reject: false });
}

/** Starts a throwaway sshd for one test file (see the module comment). Call stop() in afterAll. */
export async function startSshd(): Promise<SshdHandle> {
  const login = await sshLoginUser();
  const asRoot = runningAsRoot();
  if (asRoot) {
    // With UsePAM no, sshd refuses every login to an account whose password field starts with "!" (locked), key
    // logins included; useradd leaves it so. Say so here rather than as a bare "Permission denied" later.
    const shadow = await execa('getent', ['shadow', login.user], { reject: false });
    const field = shadow.stdout.split(':')[1] ?? '';
    if (field.startsWith('!')) {
      throw new Error(
        `the account ${login.user} is locked (password field "${field}"), so sshd refuses it: ` +
          `run \`usermod -p '*' ${login.user}\` (scripts/setup.sh does)`,
      );
    }
  }
  const me = userInfo();
  const otherUser = login.uid !== me.uid;

  const dir = await mkdtemp(path.join(tmpdir(), 'fraisier-sshd-'));
  const p = (name: string): string => path.join(dir, name);
  const hostKey = p('ssh_host_ed25519_key');
  const keyPath = p('id_ed25519');
  const otherKeyPath = p('id_ed25519_other');
  const authorizedKeys = p('authorized_keys');
  const knownHostsPath = p('known_hosts');
  const configPath = p('sshd_config');
  const pidFile = p('sshd.pid');
  const logPath = p('sshd.log');

  let child: ReturnType<typeof spawnSshd> | undefined;
  const cleanup = async (): Promise<void> => {
    if (child?.pid !== undefined) {
      const pid = child.pid;
      const below = await descendants(pid);
      signal(pid, 'SIGTERM');
      for (const d of below) signal(d, 'SIGTERM');
      const exited = await Promise.race([
        child.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!exited) signal(pid, 'SIGKILL');
      for (const d of below) signal(d, 'SIGKILL');
      await child;
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // The login user (another user when root) must reach authorized_keys: sshd reads it with that user's uid.
    await chmod(dir, otherUser ? 0o711 : 0o700);
    await keygen(hostKey, 'fraisier-test-host');
    await keygen(keyPath, 'fraisier-test-user');
    await keygen(otherKeyPath, 'fraisier-test-unauthorized');
    await chmod(keyPath, 0o600);
    await chmod(otherKeyPath, 0o600);
    await writeFile(authorizedKeys, await readFile(`${keyPath}.pub`, 'utf8'));
    await chmod(authorizedKeys, 0o644);
    const [hostKeyType, hostKeyBlob] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
    if (hostKeyType === undefined || hostKeyBlob === undefined) throw new Error(`unreadable host key ${hostKey}.pub`);
    if (asRoot) await mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });

    // The free port may be taken between freePort() and sshd's bind: then try another one.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      await writeFile(configPath, sshdConfig({ port, hostKey, authorizedKeys, pidFile, user: login.user }));
      let exited: string | undefined;
      child = spawnSshd(configPath, logPath);
      const started = child;
      void started.then((r) => {
        exited = `sshd exited (code ${r.exitCode ?? 'none'}, signal ${r.signal ?? 'none'})`;
      });
      const deadline = Date.now() + START_TIMEOUT_MS;
      let up = false;
      while (Date.now() < deadline && exited === undefined) {
        if (await portAccepts(port)) {
          up = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (up && exited === undefined) break;
      const tail = await logTail(logPath);
      if (exited === undefined) {
        signal(started.pid ?? 0, 'SIGKILL');
        await started;
      }
      child = undefined;
      if (attempt < 3 && /Address already in use/.test(tail)) continue;
      throw new Error(
        `${exited ?? `sshd did not accept connections on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`}; ` +
          `log ${logPath} ends with:\n${tail}`,
      );
    }

    const hostKeyLine = `[127.0.0.1]:${port} ${hostKeyType} ${hostKeyBlob}`;
    await writeFile(knownHostsPath, `${hostKeyLine}\n`);

    const userDir = async (target: string, mode = 0o755): Promise<string> => {
      if (!path.isAbsolute(target)) throw new Error(`userDir wants an absolute path, got ${target}`);
      const created: string[] = [];
      for (let d = target; ; d = path.dirname(d)) {
        const s = await stat(d).catch(() => undefined);
        if (s === undefined) {
          created.unshift(d);
          continue;
        }
        if (!s.isDirectory()) throw new Error(`userDir(${target}): ${d} exists and is not a directory`);
        // An existing target is left alone (never chown a shared directory), but it must be the login user's.
        if (d === target && s.uid !== login.uid) {
          throw new Error(`userDir(${target}): it exists and belongs to uid ${s.uid}, not to ${login.user} (${login.uid})`);
        }
        break;
      }
      for (const d of created) {
        await mkdir(d);
        await chmod(d, mode);
        if (asRoot) await chown(d, login.uid, login.gid);
      }
      if (otherUser) {
        // The login user must be able to walk down to it: name the first ancestor it cannot traverse.
        for (let d = path.dirname(target); d !== path.dirname(d); d = path.dirname(d)) {
          const s = await stat(d);
          const traversable = s.uid === login.uid ? (s.mode & 0o100) !== 0 : s.gid === login.gid ? (s.mode & 0o010) !== 0 : (s.mode & 0o001) !== 0;
          if (!traversable) throw new Error(`${login.user} cannot traverse ${d} (mode ${(s.mode & 0o777).toString(8)}) to reach ${target}`);
        }
      }
      return target;
    };

    const handle: SshdHandle = {
      host: '127.0.0.1',
      port,
      user: login.user,
      uid: login.uid,
      gid: login.gid,
      home: login.home,
      keyPath,
      otherKeyPath,
      hostKeyLine,
      knownHostsPath,
      logPath,
      acceptedLogins: async () => {
        const text = await readFile(logPath, 'utf8').catch(() => '');
        return text.split('\n').filter((line) => line.includes('Accepted publickey')).length;
      },
      userDir,
      ssh: async (command: string): Promise<SshResult> => {
        const r = await execa('ssh', [...sshArgv(handle), command], { stdin: 'ignore', reject: false, timeout: 60_000 });
        return {
          exitCode: r.exitCode ?? (r.timedOut ? 124 : 255),
          stdout: typeof r.stdout === 'string' ? r.stdout : '',
          stderr: typeof r.stderr === 'string' ? r.stderr : '',
        };
      },
      stop: (() => {
        let stopping: Promise<void> | undefined;
        return () => (stopping ??= cleanup());
      })(),
    };
    return handle;
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}
