import { describe, expect, it } from 'vitest';
import { progressLines } from '../../client/follow';
import { describeHolder } from '../../client/lock';
import { devServerArgs } from '../../workers/devServer';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalSettings } from '../../config/temporal';
import { workflowUiUrl } from '../../client/uiLinks';
import { lockWorkflowId } from '../../domain/ids';

describe('the lock ID', () => {
  it('is provider:fraise:environment, shared by deploy, rollback and cleanup of one target', () => {
    expect(lockWorkflowId({ provider: 'docker_compose', fraise: 'my_api', environment: 'staging' })).toBe('docker_compose:my_api:staging');
  });

  it('describes its holder: operation, version, who, since when, step', () => {
    const text = describeHolder(
      {
        workflowId: 'docker_compose:a:b',
        runId: 'r1',
        workflowType: 'deploy',
        operation: 'deploy',
        version: 'v7',
        requestedBy: 'ann@ci',
        since: new Date('2026-01-01T00:00:00Z'),
        step: 'wait-ready',
      },
      new Date('2026-01-01T00:01:30Z'),
    );
    expect(text).toBe(
      'deploy of v7 requested by ann@ci, running since 2026-01-01T00:00:00.000Z (90s ago), now at step "wait-ready" [workflow docker_compose:a:b run r1]',
    );
  });
});

describe('progress lines', () => {
  it('prints each step once per change, including steps that finished between two looks', () => {
    const seen = new Map<string, string>();
    const first = progressLines(
      { operation: 'deploy', current: 'deploy', steps: [{ name: 'validate', state: 'done' }, { name: 'deploy', state: 'running' }, { name: 'health-check', state: 'pending' }] },
      seen,
    );
    expect(first).toEqual(['  validate (done)', '  deploy (running)']);
    const second = progressLines(
      {
        operation: 'deploy',
        current: 'record-result',
        steps: [
          { name: 'validate', state: 'done' },
          { name: 'deploy', state: 'done', detail: 'version v2' },
          { name: 'health-check', state: 'done', detail: 'http: 200' },
        ],
      },
      seen,
    );
    expect(second).toEqual(['  deploy (done: version v2)', '  health-check (done: http: 200)']);
  });
});

describe('Temporal settings', () => {
  it('defaults to the local dev server, namespace default, queue fraisier, no TLS', () => {
    const s = temporalSettings({ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
    expect(s).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'fraisier', connection: { address: '127.0.0.1:7233' } });
  });

  it("reads the profile of Temporal's config file, the variables winning over it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fraisier-envconfig-'));
    const file = join(dir, 'temporal.toml');
    await writeFile(file, '[profile.default]\naddress = "cluster.internal:7233"\nnamespace = "deploys"\n\n[profile.other]\naddress = "other:7233"\n');
    expect(temporalSettings({ TEMPORAL_CONFIG_FILE: file })).toMatchObject({ address: 'cluster.internal:7233', namespace: 'deploys' });
    expect(temporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'other' })).toMatchObject({ address: 'other:7233', namespace: 'default' });
    expect(temporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_NAMESPACE: 'mine' })).toMatchObject({ namespace: 'mine' });
  });

  it('turns TLS on with an API key, as Temporal Cloud expects', () => {
    const s = temporalSettings({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'k' });
    expect(s).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', connection: { address: 'ns.acct.tmprl.cloud:7233', apiKey: 'k', tls: true } });
  });

  it('refuses half a client certificate pair, naming the variables', () => {
    expect(() => temporalSettings({ TEMPORAL_TLS_CLIENT_CERT_DATA: 'x' })).toThrow(/TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH \(or their _DATA forms\) go together/);
  });

  it('links a run in the Web UI', () => {
    expect(workflowUiUrl('default', 'docker_compose:a:b', 'r1', {})).toBe('http://127.0.0.1:8233/namespaces/default/workflows/docker_compose%3Aa%3Ab/r1/history');
  });
});

describe('dev server arguments', () => {
  it('register every search attribute as Keyword and keep state in the given file', () => {
    const args = devServerArgs({ ip: '127.0.0.1', port: 7233, uiPort: 8233, namespace: 'default', dbFile: '/d/t.db' });
    expect(args.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(args).toEqual(expect.arrayContaining(['--ui-port', '8233', '--db-filename', '/d/t.db']));
    const attrs = args.filter((_, i) => args[i - 1] === '--search-attribute');
    expect(attrs).toEqual(['FraiseName=Keyword', 'FraiseEnvironment=Keyword', 'FraiseProvider=Keyword', 'FraiseVersion=Keyword', 'FraiseOperation=Keyword']);
  });

  it('run headless without a UI port', () => {
    expect(devServerArgs({ ip: '127.0.0.1', port: 1, uiPort: null, namespace: 'n' })).toContain('--headless');
  });
});
