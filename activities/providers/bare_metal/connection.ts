/**
 * Where and how the worker reaches a bare_metal server: the ssh settings of a target (key, known_hosts, private
 * socket directory), and running one remote command through the provider context with ssh's own failures told
 * apart from the remote command's.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BareMetalConfig } from '../../../config/providers/bare_metal';
import { dataDir } from '../../../config/paths';
import type { CommandResult } from '../../commandRunner';
import { ProviderInputError, type ProviderContext } from '../contract';
import { sshCommand, type RemoteCommand, type SshSettings } from './commands';

export const CONNECT_TIMEOUT_SECONDS = 10;
/** Long enough to span a deploy's steps (each command re-arms it), short enough not to leave connections behind. */
export const PERSIST_SECONDS = 120;

type Env = Readonly<Record<string, string | undefined>>;

function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

/** The private directory of the connection-sharing sockets: FRAISIER_SSH_CONTROL_DIR, else one per user in the temp dir (short: socket paths are limited to ~100 bytes). */
export function controlDirOf(env: Env): string {
  return env.FRAISIER_SSH_CONTROL_DIR ?? path.join(os.tmpdir(), `fraisier-ssh-${process.getuid?.() ?? 'user'}`);
}

export function knownHostsOf(cfg: BareMetalConfig, env: Env): string {
  return cfg.known_hosts ? path.resolve(expandHome(cfg.known_hosts)) : path.join(dataDir(env as NodeJS.ProcessEnv), 'ssh', 'known_hosts');
}

export function sshSettingsOf(cfg: BareMetalConfig, env: Env): SshSettings {
  const key = cfg.ssh_key_path ?? cfg.ssh_key;
  return {
    host: cfg.ssh_host,
    port: cfg.ssh_port,
    user: cfg.ssh_user,
    ...(key ? { keyPath: path.resolve(expandHome(key)) } : {}),
    knownHostsPath: knownHostsOf(cfg, env),
    hostKeyChecking: cfg.host_key_checking,
    controlDir: controlDirOf(env),
    connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS,
    persistSeconds: PERSIST_SECONDS,
  };
}

/** Makes the socket directory (0700) and refuses one that another user could reach: its sockets are logged-in sessions. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new Error(
      `${dir} must be a directory of this user's with mode 0700 (it holds shared SSH connections); it is ${st.isDirectory() ? `mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}` : 'not a directory'}: fix or remove it, or set FRAISIER_SSH_CONTROL_DIR`,
    );
  }
}

/** Prepares the worker-side files ssh needs: the socket directory and the known_hosts file's directory. */
export async function prepareWorkerSide(s: SshSettings): Promise<void> {
  await ensurePrivateDir(s.controlDir);
  await fs.mkdir(path.dirname(s.knownHostsPath), { recursive: true, mode: 0o700 });
}

export type SshFailureKind = 'host-key' | 'auth' | 'resolve' | 'unreachable';

/** ssh's own failure (exit 255 with ssh's message), as opposed to the remote command's exit status. */
export function sshFailureKind(r: CommandResult): SshFailureKind | null {
  if (r.exitCode !== 255) return null;
  const e = r.stderr;
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(e)) return 'host-key';
  if (/Permission denied \(|Too many authentication failures|no such identity|Load key .*: /i.test(e)) return 'auth';
  if (/Could not resolve hostname/i.test(e)) return 'resolve';
  if (/Connection refused|Connection timed out|Operation timed out|No route to host|Connection closed|Connection reset|kex_exchange_identification|ssh: connect to host/i.test(e)) return 'unreachable';
  return null;
}

const where = (s: SshSettings): string => `${s.user}@${s.host}:${s.port}`;

/** What to tell the user about an ssh failure: an input error (retrying will not help) or a plain one. */
export function sshFailure(s: SshSettings, kind: SshFailureKind, stderr: string): Error {
  const said = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ').slice(0, 300);
  switch (kind) {
    case 'host-key':
      return new ProviderInputError(
        `ssh refused ${where(s)}: its host key is not in ${s.knownHostsPath} or does not match it (${said}). Check the server's key and add it (ssh-keyscan -p ${s.port} ${s.host} >> ${s.knownHostsPath}), or set host_key_checking: accept-new to record a host seen for the first time`,
      );
    case 'auth':
      return new ProviderInputError(
        `ssh could not log in to ${where(s)} with ${s.keyPath ? `the key ${s.keyPath}` : 'the agent\'s keys'} (${said}): check ssh_key_path and the server's authorized_keys for ${s.user}`,
      );
    case 'resolve':
      return new ProviderInputError(`ssh could not resolve ${s.host} (${said}): check ssh_host`);
    case 'unreachable':
      return new Error(`ssh could not reach ${where(s)} (${said}); will retry`);
  }
}

export interface RemoteResult extends CommandResult {
  what: string;
}

/** Runs `remote` on the server. Rejects on ssh's own failures; resolves with the remote command's exit status otherwise. */
export async function runRemote(ctx: ProviderContext<BareMetalConfig>, s: SshSettings, remote: RemoteCommand): Promise<RemoteResult> {
  const r = await ctx.run(sshCommand(s, remote));
  const kind = sshFailureKind(r);
  if (kind) throw sshFailure(s, kind, r.stderr);
  return { ...r, what: remote.what };
}

/** The last lines of a failed remote command's output, for a message. */
export function outputTail(r: CommandResult, chars = 400): string {
  const text = (r.stderr.trim() || r.stdout.trim()).replace(/\s+\n/g, '\n');
  return text.length > chars ? `…${text.slice(-chars)}` : text || '(no output)';
}

/** The error for a remote command that exited non-zero. */
export function remoteFailure(s: SshSettings, r: RemoteResult): Error {
  return new Error(`${r.what} on ${s.host} failed (exit ${r.exitCode}): ${outputTail(r)}`);
}
