/** The command runner the provider executes everything through (real processes, no shell). */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { CommandError, createCommandRunner, describeArgv } from '../../activities/runner';

const run = createCommandRunner();

describe('createCommandRunner', () => {
  it('resolves with output and exit code 0', async () => {
    const r = await run({ argv: ['sh', '-c', 'echo out; echo err >&2'] });
    expect(r).toEqual({ argv: ['sh', '-c', 'echo out; echo err >&2'], exitCode: 0, stdout: 'out', stderr: 'err' });
  });

  it('resolves (does not reject) on a non-zero exit', async () => {
    const r = await run({ argv: ['sh', '-c', 'exit 3'] });
    expect(r.exitCode).toBe(3);
  });

  it('never interprets arguments through a shell', async () => {
    const hostile = ['v1;id', '$(id)', '`id`', 'a && b', '> /tmp/x', '*', '-v', "'\"", 'line\nbreak'];
    const r = await run({ argv: ['printf', '%s\\n', ...hostile] });
    expect(r.stdout).toBe(hostile.join('\n'));
  });

  it('passes input, cwd and env merged over the process environment', async () => {
    const r = await run({
      argv: ['sh', '-c', 'cat; pwd; echo "$FRAISIER_T:$PATH"'],
      input: 'from stdin\n',
      cwd: os.tmpdir(),
      env: { FRAISIER_T: 'yes' },
    });
    const [input, cwd, env] = r.stdout.split('\n');
    expect(input).toBe('from stdin');
    expect(cwd).toBe(os.tmpdir());
    expect(env).toBe(`yes:${process.env.PATH}`);
  });

  it('gives commands without input an empty standard input', async () => {
    const r = await run({ argv: ['cat'], timeoutMs: 5000 });
    expect(r).toMatchObject({ exitCode: 0, stdout: '' });
  });

  it('rejects with command, cwd and reason when the program does not exist', async () => {
    const err = await run({ argv: ['fraisier-no-such-program', '--x'], cwd: '/tmp' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).reason).toBe('spawn');
    expect((err as Error).message).toMatch(/could not run `fraisier-no-such-program --x` \(cwd \/tmp\): .*ENOENT/);
  });

  it('rejects when the cwd does not exist', async () => {
    await expect(run({ argv: ['true'], cwd: '/nonexistent-fraisier-dir' })).rejects.toThrow(/nonexistent-fraisier-dir/);
  });

  it('rejects on timeout', async () => {
    const t0 = Date.now();
    const err = await run({ argv: ['sleep', '10'], timeoutMs: 200 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((err as CommandError).reason).toBe('timeout');
    expect((err as Error).message).toMatch(/`sleep 10` \(cwd .*\) timed out after 200 ms/);
  });

  it('rejects when cancelled through the signal', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await run({ argv: ['sleep', '10'] }, { signal: ac.signal }).catch((e: unknown) => e);
    expect((err as CommandError).reason).toBe('cancelled');
  });

  it('reports a process killed by a signal as 128 + signal', async () => {
    const r = await run({ argv: ['sh', '-c', 'kill -9 $$'] });
    expect(r.exitCode).toBe(137);
    expect(r.stderr).toMatch(/SIGKILL/);
  });

  it('refuses an empty argv', async () => {
    await expect(run({ argv: [] })).rejects.toThrow(/empty command/);
  });

  it('describes argv readably', () => {
    expect(describeArgv(['docker', 'compose', '-f', '/a b/c.yml', 'up'])).toBe('docker compose -f "/a b/c.yml" up');
  });
});
