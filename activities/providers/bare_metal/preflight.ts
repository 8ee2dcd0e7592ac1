/**
 * bare_metal pre-flight: the ssh connection (key, host key), the commands the deploy needs on the server (git,
 * the service manager's, curl or bash for checks from the server), app_path writable, the systemd unit known.
 * Changes nothing on the server; on the worker it makes the private socket directory and known_hosts' directory.
 */
import type { BareMetalConfig } from '../../../config/providers/bare_metal';
import type { PreflightCheck, PreflightReport } from '../../../domain/release';
import type { ProviderContext } from '../contract';
import * as cmd from './commands';
import { outputTail, prepareWorkerSide, runRemote, sshSettingsOf } from './connection';
import { requiredCommands, serviceManagerOf, statusCommand, systemdVerdict } from './serviceManager';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function preflight(ctx: ProviderContext<BareMetalConfig>, env: Readonly<Record<string, string | undefined>>): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [];
  const cfg = ctx.config;
  const ssh = sshSettingsOf(cfg, env);
  const manager = serviceManagerOf(cfg);
  const hc = ctx.target.healthCheck;
  const fromServer = hc?.from === 'server' ? (hc.type === 'http' ? ['curl'] : ['bash', 'timeout']) : [];
  const needed = [...new Set(['git', ...requiredCommands(manager), ...fromServer])];
  let facts: string;
  try {
    await prepareWorkerSide(ssh);
    const r = await runRemote(ctx, ssh, cmd.preflightFacts(cfg.app_path, needed));
    if (r.exitCode !== 0) throw new Error(`the checks on the server failed (exit ${r.exitCode}): ${outputTail(r)}`);
    facts = r.stdout;
  } catch (err) {
    checks.push({ name: 'ssh', ok: false, detail: message(err) });
    return { ok: false, checks };
  }
  const lines = facts.split('\n');
  const login = lines.find((l) => l.startsWith('login '))?.slice(6) ?? ssh.user;
  checks.push({
    name: 'ssh',
    ok: true,
    detail: `logged in to ${ssh.host}:${ssh.port} as ${login} (host key checked against ${ssh.knownHostsPath})`,
  });
  const missing = lines.flatMap((l) => {
    const m = /^command (\S+) no$/.exec(l);
    return m?.[1] ? [m[1]] : [];
  });
  checks.push(
    missing.length === 0
      ? { name: 'commands', ok: true, detail: `present on the server: ${needed.join(', ')}` }
      : { name: 'commands', ok: false, detail: `not found on ${ssh.host} (PATH of ${login}): ${missing.join(', ')}; install them or fix the config` },
  );
  const w = /^writable (yes|no) (.*)$/.exec(lines.find((l) => l.startsWith('writable ')) ?? '');
  if (!w) checks.push({ name: 'app-path', ok: false, detail: `could not tell whether ${cfg.app_path} is writable: ${facts.slice(0, 200)}` });
  else if (w[1] === 'yes') {
    checks.push({ name: 'app-path', ok: true, detail: w[2] === cfg.app_path ? `${cfg.app_path} is writable by ${login}` : `${cfg.app_path} will be created in ${w[2]} (writable by ${login})` });
  } else {
    checks.push({ name: 'app-path', ok: false, detail: `${w[2]} is not writable by ${login}, so releases cannot be written in ${cfg.app_path}: fix its owner or mode on ${ssh.host}, or choose another app_path` });
  }
  if (manager.kind === 'systemd' && !missing.includes('systemctl')) {
    const status = statusCommand(manager);
    try {
      const r = status ? await runRemote(ctx, ssh, status) : null;
      const v = r && r.exitCode === 0 ? systemdVerdict(manager.unit, r.stdout) : null;
      if (!v) checks.push({ name: 'unit', ok: false, detail: `systemctl show ${manager.unit} failed: ${r ? outputTail(r) : 'not run'}` });
      else if (v.state === 'absent') checks.push({ name: 'unit', ok: false, detail: `${v.detail}: install its unit file, or fix systemd_service` });
      else checks.push({ name: 'unit', ok: true, detail: v.detail });
    } catch (err) {
      checks.push({ name: 'unit', ok: false, detail: message(err) });
    }
  }
  return { ok: checks.every((c) => c.ok), checks };
}
