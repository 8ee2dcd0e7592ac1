/**
 * The service manager's commands, as pure data: systemd (systemctl, journalctl), a configured command set, or
 * none. Each builder returns the remote argv; sudo (`sudo -n`, never a password prompt) wraps them when configured.
 */
import type { BareMetalCommandSet, BareMetalConfig } from '../../../config/providers/bare_metal';
import { runIn, TIMEOUTS, type RemoteCommand } from './commands';

export type ServiceManager =
  | { kind: 'systemd'; unit: string; sudo: boolean }
  | { kind: 'commands'; commands: BareMetalCommandSet; appPath: string; sudo: boolean }
  | { kind: 'none' };

export type ServiceAction = 'start' | 'stop' | 'restart';

const UNIT = /^[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,250}$/;

function unit(name: string): string {
  if (!UNIT.test(name)) throw new Error(`refusing to build a systemctl command with unit ${JSON.stringify(name)}`);
  return name;
}

export function serviceManagerOf(cfg: BareMetalConfig): ServiceManager {
  const m = cfg.service_manager;
  if (m === 'none') return { kind: 'none' };
  if (m === 'systemd') {
    if (!cfg.systemd_service) throw new Error('service_manager is systemd but systemd_service is not set (the config schema requires it)');
    return { kind: 'systemd', unit: unit(cfg.systemd_service), sudo: cfg.sudo };
  }
  return { kind: 'commands', commands: m, appPath: cfg.app_path, sudo: cfg.sudo };
}

const sudo = (on: boolean, argv: readonly string[]): string[] => (on ? ['sudo', '-n', '--', ...argv] : [...argv]);

/** A configured command, run in app_path. */
function inAppPath(m: Extract<ServiceManager, { kind: 'commands' }>, argv: readonly string[], what: string, timeoutMs: number): RemoteCommand {
  return runIn(m.appPath, sudo(m.sudo, argv), what, timeoutMs);
}

/** `systemctl <action> -- <unit>` (waits for the job), or the command set's; a set without restart stops then starts. */
export function serviceCommands(m: ServiceManager, action: ServiceAction): RemoteCommand[] {
  if (m.kind === 'none') return [];
  if (m.kind === 'systemd') {
    return [{ argv: sudo(m.sudo, ['systemctl', action, '--', m.unit]), what: `systemctl ${action} ${m.unit}`, timeoutMs: TIMEOUTS.service }];
  }
  const set = m.commands;
  if (action === 'restart' && !set.restart) return [...serviceCommands(m, 'stop'), ...serviceCommands(m, 'start')];
  const argv = action === 'restart' ? (set.restart as readonly string[]) : set[action];
  return [inAppPath(m, argv, `the ${action} command (${argv.join(' ')})`, TIMEOUTS.service)];
}

/** The unit's states (`Key=value` lines), or the command set's status command; none has no status. */
export function statusCommand(m: ServiceManager): RemoteCommand | null {
  if (m.kind === 'none') return null;
  if (m.kind === 'systemd') {
    return {
      argv: ['systemctl', 'show', '--property=LoadState', '--property=ActiveState', '--property=SubState', '--', m.unit],
      what: `systemctl show ${m.unit}`,
      timeoutMs: TIMEOUTS.probe,
    };
  }
  return inAppPath(m, m.commands.status, `the status command (${m.commands.status.join(' ')})`, TIMEOUTS.probe);
}

/** `journalctl -u <unit> -n <lines> --no-pager`, or the command set's logs command cut to its last lines. */
export function logsCommand(m: ServiceManager, lines: number): RemoteCommand | null {
  const n = String(Math.max(1, Math.trunc(lines)));
  if (m.kind === 'none') return null;
  if (m.kind === 'systemd') {
    return { argv: sudo(m.sudo, ['journalctl', '-u', m.unit, '-n', n, '--no-pager']), what: `journalctl -u ${m.unit}`, timeoutMs: TIMEOUTS.logs };
  }
  const logs = m.commands.logs;
  if (!logs) return null;
  return {
    argv: ['sh', '-c', 'cd "$1" || exit; n=$2; shift 2; "$@" 2>&1 | tail -n "$n"', 'fraisier', m.appPath, n, ...sudo(m.sudo, logs)],
    what: `the logs command (${logs.join(' ')})`,
    timeoutMs: TIMEOUTS.logs,
  };
}

/** The commands pre-flight requires on the server for this manager (beyond git). */
export function requiredCommands(m: ServiceManager): string[] {
  if (m.kind === 'none') return [];
  const base = m.sudo ? ['sudo'] : [];
  if (m.kind === 'systemd') return [...base, 'systemctl', 'journalctl'];
  const set = m.commands;
  const firsts = [set.start, set.stop, set.status, set.restart, set.logs].flatMap((argv) => (argv ? [argv[0] as string] : []));
  return [...base, ...new Set(firsts)];
}

export type ServiceState = 'running' | 'starting' | 'stopped' | 'failed' | 'absent' | 'unknown';

export interface ServiceVerdict {
  state: ServiceState;
  detail: string;
}

/** What `systemctl show` printed (LoadState, ActiveState, SubState) as a verdict. */
export function systemdVerdict(unitName: string, stdout: string): ServiceVerdict {
  const props = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const load = props.get('LoadState') ?? '';
  const active = props.get('ActiveState') ?? '';
  const sub = props.get('SubState') ?? '';
  const detail = `${unitName}: ${load || '?'}, ${active || '?'}${sub ? ` (${sub})` : ''}`;
  if (load === 'not-found') return { state: 'absent', detail: `${unitName} is not a known unit on the server` };
  switch (active) {
    case 'active':
    case 'reloading':
      return { state: 'running', detail };
    case 'activating':
      return { state: 'starting', detail };
    case 'failed':
      return { state: 'failed', detail };
    case 'inactive':
    case 'deactivating':
      return { state: 'stopped', detail };
    default:
      return { state: 'unknown', detail };
  }
}

/** What a command set's status command said: exit 0 runs, anything else does not. */
export function commandSetVerdict(exitCode: number, output: string): ServiceVerdict {
  const text = output.trim().split('\n').slice(-3).join(' / ').slice(0, 300);
  return exitCode === 0
    ? { state: 'running', detail: text || 'the status command exited 0' }
    : { state: 'stopped', detail: `${text || 'no output'} (status command exit ${exitCode})` };
}
