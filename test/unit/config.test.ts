import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveProjects } from '../../config/projects';
import { renderTemplate } from '../../activities/projects/template';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigText } from '../../config/load';
import { listTargets, resolveTarget } from '../../config/resolve';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/config');
const fixture = (name: string) => join(FIXTURES, name);

async function loadError(file: string): Promise<ConfigError> {
  const err = await loadConfig(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

function parseError(text: string, label = 'fraises.yaml'): ConfigError {
  try {
    parseConfigText(text, label);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** A minimal valid file with one environment whose parts can be replaced. */
function withEnv(env: string): string {
  return `fraises:\n  my_api:\n    providers:\n      staging:\n${env
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n')}\n`;
}

describe('loadConfig: the valid fixture', () => {
  it('parses, fills defaults and converts durations to seconds', async () => {
    const config = await loadConfig(fixture('valid.yaml'));
    expect(Object.keys(config.fraises)).toEqual(['my_api', 'web', 'worker']);
    expect(config.configDir).toBe(FIXTURES);
    expect(config.defaults?.health_check).toMatchObject({ type: 'http', port: 8080, timeout: 120, interval: 2, expected_status: 200 });
    const prod = config.fraises.my_api?.providers.production;
    expect(prod?.config).toMatchObject({ ssh_port: 22, service_manager: 'systemd', install: ['npm', 'ci', '--omit=dev'] });
  });

  it('resolves targets with environment > fraise > defaults precedence', async () => {
    const config = await loadConfig(fixture('valid.yaml'));
    const staging = resolveTarget(config, 'my_api', 'staging');
    expect(staging).toEqual({
      fraise: 'my_api',
      environment: 'staging',
      provider: 'docker_compose',
      // Paths made absolute against the directory of fraises.yaml: the worker never sees the client's directory.
      config: { compose_file: join(FIXTURES, 'docker-compose.yml'), service_name: 'my_api', pull: 'auto' },
      // From defaults: the fraise sets no health_check, but retain 10.
      healthCheck: { type: 'http', host: '127.0.0.1', port: 8080, path: '/healthz', expectedStatus: 200, timeoutSeconds: 120, intervalSeconds: 2 },
      retain: 10,
      // The provider's bounds, as the environment sets none.
      bounds: { changeSeconds: 1200, readySeconds: 300, pollMaxSeconds: 10 },
    });
    const prod = resolveTarget(config, 'my_api', 'production');
    expect(prod.healthCheck).toEqual({ type: 'tcp', host: '127.0.0.1', port: 8080, timeoutSeconds: 30, intervalSeconds: 1 });
    expect(prod.retain).toBe(3);

    const web = resolveTarget(config, 'web', 'production');
    expect(web.healthCheck).toEqual({
      type: 'http',
      url: 'https://web.example.com/up',
      host: '127.0.0.1',
      path: '/',
      expectedStatus: 204,
      timeoutSeconds: 60,
      intervalSeconds: 0.5,
    });
    expect(web.retain).toBe(7);
    expect(web.config).toMatchObject({ token_env: 'COOLIFY_TOKEN_PROD', force: false });
    expect(web.bounds).toMatchObject({ pollMaxSeconds: 10 });
    const preview = resolveTarget(config, 'web', 'preview');
    expect(preview.config).toMatchObject({ project: 'Web', application: 'web-preview', version_env: 'WEB_VERSION' });
    expect(preview.bounds).toMatchObject({ pollMaxSeconds: 5 });
    expect(web.bounds).toEqual({ changeSeconds: 2400, readySeconds: 1800, pollMaxSeconds: 10 });
    // `~/…` is left for the worker to expand with its own home.
    expect(resolveTarget(config, 'worker', 'production').config).toMatchObject({ ssh_key: '~/.ssh/deploy_ed25519' });
    // `type: none` turns the inherited check off.
    expect(resolveTarget(config, 'web', 'preview').healthCheck).toBeUndefined();
  });

  it('lists every target in file order', async () => {
    const config = await loadConfig(fixture('valid.yaml'));
    expect(listTargets(config).map((t) => `${t.fraise}/${t.environment}/${t.provider}`)).toEqual([
      'my_api/staging/docker_compose',
      'my_api/production/bare_metal',
      'web/production/coolify',
      'web/preview/coolify',
      'worker/production/bare_metal',
    ]);
  });

  it('takes deploy_timeout and ready_timeout of the environment over its provider\'s bounds', () => {
    const config = parseConfigText(
      withEnv('provider: docker_compose\nconfig: { compose_file: /srv/c.yml, service_name: a }\ndeploy_timeout: 45m\nready_timeout: 90s'),
      '/srv/deploy/fraises.yaml',
    );
    const target = resolveTarget(config, 'my_api', 'staging');
    expect(target.bounds).toEqual({ changeSeconds: 2700, readySeconds: 90, pollMaxSeconds: 10 });
    expect(target.config.compose_file).toBe('/srv/c.yml');
    expect(parseError(withEnv('provider: docker_compose\nconfig: { compose_file: c.yml, service_name: a }\nready_timeout: soon')).message).toContain(
      'ready_timeout: "soon" is not valid; allowed: a number of seconds',
    );
  });

  it('uses retain 5 and no health check when nothing sets them', () => {
    const config = parseConfigText(withEnv('provider: docker_compose\nconfig: { compose_file: c.yml, service_name: a }'), '/srv/deploy/fraises.yaml');
    const target = resolveTarget(config, 'my_api', 'staging');
    expect(target.retain).toBe(5);
    expect(target.healthCheck).toBeUndefined();
    // The worker may run elsewhere: it gets the paths made absolute, never the client's directory.
    expect(target.config.compose_file).toBe('/srv/deploy/c.yml');
    expect(target).not.toHaveProperty('configDir');
    expect(target.bounds).toEqual({ changeSeconds: 1200, readySeconds: 300, pollMaxSeconds: 10 });
  });

  it('validates the example file when it exists', async () => {
    const example = resolve(import.meta.dirname, '../../examples/fraises.yaml');
    const exists = await import('node:fs').then((fs) => fs.existsSync(example));
    if (!exists) return;
    const config = await loadConfig(example);
    expect(listTargets(config).length).toBeGreaterThan(0);
  });

  it('validates the projects example, whose template renders with its own variables', async () => {
    const config = await loadConfig(resolve(import.meta.dirname, '../../examples/projects.yaml'));
    const settings = resolveProjects(config);
    expect(settings).toMatchObject({ backend: 'local', ports: ['API_PORT', 'DB_PORT'], template: resolve(import.meta.dirname, '../../examples/project-stack.yml') });
    const text = await import('node:fs/promises').then((fs) => fs.readFile(settings.template, 'utf8'));
    const vars = Object.fromEntries(['PROJECT_ID', ...settings.ports, ...settings.secrets.map((x) => x.name)].map((n) => [n, '1']));
    expect(renderTemplate(text, vars)).toContain('"httpd", "-f", "-p", "1"');
  });
});

describe('task_queue', () => {
  it('sends an environment to the workers of its own queue, and only that one', () => {
    const config = parseConfigText(
      'fraises:\n  api:\n    providers:\n' +
        '      a: { provider: docker_compose, task_queue: docker-host-a, config: { compose_file: c.yml, service_name: api } }\n' +
        '      b: { provider: docker_compose, config: { compose_file: c.yml, service_name: api } }\n',
    );
    expect(resolveTarget(config, 'api', 'a').taskQueue).toBe('docker-host-a');
    expect(resolveTarget(config, 'api', 'b')).not.toHaveProperty('taskQueue');
  });

  it('refuses a queue name that is not one', () => {
    const err = parseError(withEnv('provider: docker_compose\ntask_queue: "host a"\nconfig: { compose_file: c.yml, service_name: api }'));
    expect(err.message).toContain('fraises.my_api.providers.staging.task_queue');
    expect(err.message).toContain('a task queue name');
  });
});

describe('resolveTarget: unknown names', () => {
  it('lists the known fraises', async () => {
    const config = await loadConfig(fixture('valid.yaml'));
    expect(() => resolveTarget(config, 'nope', 'staging')).toThrow(/fraises\.nope: no fraise named "nope"; allowed: my_api, web, worker/);
  });

  it('lists the environments of the fraise', async () => {
    const config = await loadConfig(fixture('valid.yaml'));
    expect(() => resolveTarget(config, 'web', 'staging')).toThrow(
      /fraises\.web\.providers\.staging: fraise "web" has no environment named "staging"; allowed: production, preview/,
    );
  });

  it('does not find inherited object properties', async () => {
    const config = await loadConfig(fixture('valid.yaml'));
    expect(() => resolveTarget(config, 'constructor', 'production')).toThrow(ConfigError);
    expect(() => resolveTarget(config, 'web', '__proto__')).toThrow(ConfigError);
  });
});

describe('loadConfig: errors name the file, the key path and what is allowed', () => {
  it('missing file: says which path was tried and how to point elsewhere', async () => {
    const err = await loadError('does-not-exist/fraises.yaml');
    expect(err.message).toContain('does-not-exist/fraises.yaml: (file): file not found (tried ');
    expect(err.message).toContain(resolve('does-not-exist/fraises.yaml'));
    expect(err.message).toContain('--config <file>');
  });

  it('unknown provider: lists the known ones', async () => {
    const err = await loadError(fixture('unknown-provider.yaml'));
    expect(err.message).toBe(
      `${fixture('unknown-provider.yaml')}: fraises.my_api.providers.staging.provider: unknown provider "kubernetes"; allowed: docker_compose, coolify, bare_metal`,
    );
  });

  it('unknown provider close to a known one: suggests it', () => {
    const err = parseError(withEnv('provider: bare_metl\nconfig: {}'));
    expect(err.message).toContain('unknown provider "bare_metl" (did you mean "bare_metal"?)');
  });

  it('missing provider', () => {
    const err = parseError(withEnv('config: {}'));
    expect(err.message).toBe('fraises.yaml: fraises.my_api.providers.staging.provider: required; allowed: docker_compose, coolify, bare_metal');
  });

  it('missing key in a provider config', async () => {
    const err = await loadError(fixture('missing-key.yaml'));
    expect(err.problems).toHaveLength(1);
    expect(err.message).toMatch(
      /missing-key\.yaml: fraises\.my_api\.providers\.staging\.config\.compose_file: required; allowed: Compose file/,
    );
    expect(err.problems[0]).toMatchObject({ line: 6 });
  });

  it('missing key of a cross-field rule (systemd_service, coolify application lookup)', () => {
    let err = parseError(withEnv('provider: bare_metal\nconfig: { ssh_host: h, ssh_user: u, app_path: /a, repo: /r }'));
    expect(err.message).toContain('config.systemd_service: required when service_manager is systemd; allowed: a systemd unit name');
    expect(err.message).toContain('or set service_manager: none');
    err = parseError(withEnv('provider: coolify\nconfig: { coolify_url: "https://c.example.com", project: Web }'));
    expect(err.message).toContain('config.environment: required when application_uuid is not given; allowed: application_uuid, or project + environment + application');
    expect(err.message).toContain('config.application: required when application_uuid is not given');
    expect(err.message).not.toContain('config.project:');
  });

  it('bad fraise and environment names', () => {
    const err = parseError('fraises:\n  My.Api:\n    providers:\n      "../prod":\n        provider: docker_compose\n        config: { compose_file: c.yml, service_name: a }\n');
    expect(err.message).toContain(
      'fraises.yaml: fraises["My.Api"]: invalid name "My.Api"; allowed: a fraise name: lowercase letters, digits, "_" and "-", not starting with "-"',
    );
    expect(err.message).toContain('fraises.yaml: fraises["My.Api"].providers["../prod"]: invalid name "../prod"; allowed: an environment name');
  });

  it('bad duration', async () => {
    const err = await loadError(fixture('bad-duration.yaml'));
    expect(err.message).toMatch(
      /bad-duration\.yaml: fraises\.my_api\.health_check\.timeout: "10 minutes" is not valid; allowed: a number of seconds, or a number followed by ms, s, m, h or d/,
    );
  });

  it('zero, negative and too long durations', () => {
    const check = (v: string) => parseError(withEnv(`provider: docker_compose\nconfig: { compose_file: c.yml, service_name: a }\nhealth_check: { type: tcp, port: 1, interval: ${v} }`));
    expect(check('0s').message).toContain('health_check.interval: duration "0s" is not positive; allowed:');
    expect(check('-3').message).toContain('health_check.interval: -3 is too small; allowed: a number of seconds');
    expect(check('400d').message).toContain('duration "400d" is longer than a year');
  });

  it('unknown key with a suggestion, and the list of known keys', () => {
    const err = parseError(withEnv('provider: docker_compose\nconfig: { compose_file: c.yml, service_name: a }\nhelth_check: { type: tcp, port: 1 }'));
    expect(err.message).toBe(
      'fraises.yaml: fraises.my_api.providers.staging.helth_check: unknown key (did you mean "health_check"?); allowed: provider, config, health_check, retain, task_queue, deploy_timeout, ready_timeout, poll_max_interval, description',
    );
  });

  it('unknown key without a close match', () => {
    const err = parseError(`${withEnv('provider: docker_compose\nconfig: { compose_file: c.yml, service_name: a }')}colour: red\n`);
    expect(err.message).toBe('fraises.yaml: colour: unknown key; allowed: $schema, defaults, projects, fraises');
  });

  it('a secret-looking key points to *_env', () => {
    const err = parseError(withEnv('provider: coolify\nconfig: { coolify_url: "https://c.example.com", application_uuid: abcdefghijklmnopqrstuvwx, token: s3cr3t }'));
    expect(err.message).toContain('config.token: unknown key');
    expect(err.message).toContain('secrets never go in this file');
  });

  it('YAML syntax error: reported with line:col', async () => {
    const err = await loadError(fixture('syntax-error.yaml'));
    expect(err.message).toMatch(/syntax-error\.yaml: line 7:\d+: YAML syntax error: .+; allowed: valid YAML/);
    expect(err.problems[0]?.line).toBe(7);
  });

  it('duplicate keys are a YAML error', () => {
    const err = parseError('fraises:\n  a: {}\n  a: {}\n');
    expect(err.message).toMatch(/fraises\.yaml: line 3:3: YAML syntax error: .*unique/i);
  });

  it('empty file and empty mappings', async () => {
    expect((await loadError(fixture('empty.yaml'))).message).toMatch(/empty\.yaml: \(top level\): the file is empty; allowed: a mapping with a "fraises:" key/);
    expect(parseError('fraises: {}\n').message).toBe('fraises.yaml: fraises: no fraises defined; allowed: at least one fraise, e.g. "my_api: { providers: { ... } }"');
    expect(parseError('fraises:\n  a:\n    providers: {}\n').message).toContain('fraises.a.providers: no environments defined; allowed: at least one environment');
    expect(parseError('- a\n- b\n').message).toBe('fraises.yaml: (top level): expected a mapping, got a list; allowed: fraisier configuration: the fraises (services) and, for each environment, how to deploy it');
  });

  it('wrong types', () => {
    const err = parseError(withEnv('provider: bare_metal\nconfig: { ssh_host: h, ssh_user: u, app_path: /a, repo: /r, systemd_service: a, ssh_port: "22", build: "make" }\nretain: 1.5'));
    expect(err.message).toContain('config.ssh_port: expected a number, got "22"; allowed: an integer from 1 to 65535');
    expect(err.message).toContain('config.build: expected a list, got "make"; allowed: a command as a list of arguments');
    expect(err.message).toContain('staging.retain: expected an integer, got 1.5; allowed: an integer from 1 to 100');
  });

  it('reports every problem of the file at once, with positions', async () => {
    const err = await loadError(fixture('many-errors.yaml'));
    const paths = err.problems.map((p) => p.path);
    expect(paths).toEqual([
      'defaults.retian',
      'fraises.my_api.providers.staging.config.compose_file',
      'fraises.my_api.providers.staging.config.composefile',
      'fraises.my_api.providers.production.provider',
      'fraises.my_api.providers["../evil"]',
      'fraises["Bad.Name"]',
      // The content of a badly named fraise is checked too.
      'fraises["Bad.Name"].providers.prod.config.ssh_host',
      'fraises["Bad.Name"].providers.prod.config.ssh_user',
      'fraises["Bad.Name"].providers.prod.config.app_path',
      'fraises["Bad.Name"].providers.prod.health_check.timeout',
      'fraises["Bad.Name"].providers.prod.health_check.interval',
      'fraises["Bad.Name"].providers.prod.retain',
    ]);
    expect(err.message.split('\n')).toHaveLength(paths.length);
    for (const line of err.message.split('\n')) {
      expect(line).toMatch(/^.*many-errors\.yaml: \S.*: .+; allowed: .+$/);
    }
    expect(err.problems.every((p) => typeof p.line === 'number')).toBe(true);
    expect(err.problems[0]).toMatchObject({ line: 2, col: 3 });
  });
});

describe('hostile values are rejected', () => {
  it('the hostile fixture: option-like ssh values, ".." paths, shell metacharacters', async () => {
    const err = await loadError(fixture('hostile.yaml'));
    const byKey = Object.fromEntries(err.problems.map((p) => [p.path.split('.').pop(), p.message]));
    expect(err.problems.map((p) => p.path)).toEqual([
      'fraises["../etc"]',
      'fraises["../etc"].providers["prod;rm"]',
      'fraises["../etc"].providers["prod;rm"].config.ssh_host',
      'fraises["../etc"].providers["prod;rm"].config.ssh_user',
      'fraises["../etc"].providers["prod;rm"].config.ssh_key',
      'fraises["../etc"].providers["prod;rm"].config.app_path',
      'fraises["../etc"].providers["prod;rm"].config.systemd_service',
    ]);
    expect(byKey.ssh_host).toBe('"-oProxyCommand=x" is not valid');
  });

  it.each([
    ['ssh_host', '-oProxyCommand=x'],
    ['ssh_host', 'host name'],
    ['ssh_host', 'user@host'],
    ['ssh_host', 'a;b'],
    ['ssh_user', '-oX'],
    ['ssh_user', 'root;id'],
    ['app_path', 'relative/path'],
    ['app_path', '/var/app/../../etc'],
    ['app_path', '/var/$(id)'],
    ['app_path', '/'],
    ['systemd_service', '--now'],
    ['ssh_key', '-F/tmp/x'],
  ])('bare_metal %s %j', (key, value) => {
    const config = { ssh_host: 'h.example.com', ssh_user: 'deploy', app_path: '/var/app', repo: '/srv/git/app.git', systemd_service: 'a.service', [key]: value };
    const err = parseError(withEnv(`provider: bare_metal\nconfig: ${JSON.stringify(config)}`));
    expect(err.problems.map((p) => p.path)).toEqual([`fraises.my_api.providers.staging.config.${key}`]);
  });

  it.each(['10.0.0.1', '::1', '[2001:db8::1]', 'prod.example.com', 'localhost'])('accepts ssh_host %s', (host) => {
    const config = { ssh_host: host, ssh_user: 'deploy', app_path: '/var/app', repo: '/srv/git/app.git', systemd_service: 'a.service' };
    expect(() => parseConfigText(withEnv(`provider: bare_metal\nconfig: ${JSON.stringify(config)}`), 'f.yaml')).not.toThrow();
  });

  it.each([
    ['coolify_url', 'ftp://c.example.com'],
    ['coolify_url', 'c.example.com'],
    ['application_uuid', 'ABCDEFGHIJKLMNOPQRSTUVWX'],
    ['application_uuid', 'short'],
    ['token_env', 'my token'],
  ])('coolify %s %j', (key, value) => {
    const config = { coolify_url: 'https://c.example.com', application_uuid: 'abcdefghijklmnopqrstuvwx', [key]: value };
    const err = parseError(withEnv(`provider: coolify\nconfig: ${JSON.stringify(config)}`));
    expect(err.problems.map((p) => p.path)).toEqual([`fraises.my_api.providers.staging.config.${key}`]);
  });
});

describe('health checks', () => {
  const env = (hc: string) => withEnv(`provider: docker_compose\nconfig: { compose_file: c.yml, service_name: a }\nhealth_check: ${hc}`);

  it('http needs a url or a port, not both', () => {
    expect(parseError(env('{ type: http }')).message).toContain('health_check.port: required when url is not given; allowed: a port');
    expect(parseError(env('{ type: http, url: "http://a.example.com/", port: 80 }')).message).toContain(
      'health_check.port: given together with url; allowed: either url, or host/port/path (not both)',
    );
  });

  it('unknown type', () => {
    expect(parseError(env('{ type: grpc, port: 1 }')).message).toBe(
      'fraises.yaml: fraises.my_api.providers.staging.health_check.type: unknown type "grpc"; allowed: http, tcp, none',
    );
  });

  it('expected_status range and path shape', () => {
    const err = parseError(env('{ type: http, port: 80, expected_status: 99, path: healthz }'));
    expect(err.message).toContain('health_check.expected_status: 99 is too small; allowed: an HTTP status code from 100 to 599');
    expect(err.message).toContain('health_check.path: "healthz" is not valid; allowed: a URL path starting with "/"');
  });

  it('written in a file in a temporary directory: relative paths resolve against that directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fraisier-config-'));
    const file = join(dir, 'fraises.yaml');
    await writeFile(file, env('{ type: tcp, port: 5432, timeout: 1h }'));
    const target = resolveTarget(await loadConfig(file), 'my_api', 'staging');
    expect(target.config.compose_file).toBe(join(dir, 'c.yml'));
    expect(target.healthCheck).toEqual({ type: 'tcp', host: '127.0.0.1', port: 5432, timeoutSeconds: 3600, intervalSeconds: 2 });
  });
});

describe('health_check body and from', () => {
  const DOCKER = 'provider: docker_compose\nconfig: { compose_file: c.yml, service_name: a }';
  const COOLIFY = 'provider: coolify\nconfig: { coolify_url: "https://c.example.com", application_uuid: abcdefghijklmnopqrstuvwx }';
  const BARE = 'provider: bare_metal\nconfig: { ssh_host: h.example.com, ssh_user: deploy, app_path: /var/app, repo: /srv/git/a.git, systemd_service: a.service }';
  const withCheck = (env: string, hc: string) => withEnv(`${env}\nhealth_check: ${hc}`);
  const REFUSED_DOCKER =
    "fraises.yaml: fraises.my_api.providers.staging.health_check.from: server needs a provider that runs commands on the target's server (bare_metal); docker_compose probes from the worker; allowed: worker: remove from, or use from: worker";

  it('body is written to the domain as bodyContains, on http checks', () => {
    const config = parseConfigText(withCheck(DOCKER, '{ type: http, port: 8080, body: "ok v2" }'));
    expect(resolveTarget(config, 'my_api', 'staging').healthCheck).toEqual({
      type: 'http',
      host: '127.0.0.1',
      port: 8080,
      path: '/',
      expectedStatus: 200,
      bodyContains: 'ok v2',
      timeoutSeconds: 60,
      intervalSeconds: 2,
    });
  });

  it('body is refused on a tcp check, and when empty, too long or holding NUL', () => {
    expect(parseError(withCheck(DOCKER, '{ type: tcp, port: 1, body: ok }')).message).toBe(
      'fraises.yaml: fraises.my_api.providers.staging.health_check.body: unknown key; allowed: type, host, port, from, timeout, interval',
    );
    expect(parseError(withCheck(DOCKER, '{ type: http, port: 1, body: "" }')).message).toContain(
      'health_check.body: "": length must be at least 1; allowed: text of 1 to 1024 characters, without NUL, that the response body must contain',
    );
    expect(parseError(withCheck(DOCKER, `{ type: http, port: 1, body: ${'x'.repeat(1025)} }`)).message).toContain(
      'length must be at most 1024',
    );
    expect(() => parseConfigText(withCheck(DOCKER, `{ type: http, port: 1, body: ${'x'.repeat(1024)} }`))).not.toThrow();
    const nul = parseError(withCheck(DOCKER, '{ type: http, port: 1, body: "ok\\0" }'));
    expect(nul.problems.map((p) => p.path)).toEqual(['fraises.my_api.providers.staging.health_check.body']);
    expect(nul.message).toContain('without NUL');
  });

  it('from: server is accepted for bare_metal, and written to the domain', () => {
    const http = parseConfigText(withCheck(BARE, '{ type: http, port: 8080, path: /healthz, from: server }'));
    expect(resolveTarget(http, 'my_api', 'staging').healthCheck).toMatchObject({ type: 'http', port: 8080, from: 'server' });
    const tcp = parseConfigText(withCheck(BARE, '{ type: tcp, port: 5432, from: server }'));
    expect(resolveTarget(tcp, 'my_api', 'staging').healthCheck).toEqual({
      type: 'tcp',
      host: '127.0.0.1',
      port: 5432,
      from: 'server',
      timeoutSeconds: 60,
      intervalSeconds: 2,
    });
  });

  it('from: server is refused for docker_compose and coolify, naming the key path, the provider and what to do', () => {
    expect(parseError(withCheck(DOCKER, '{ type: http, port: 8080, from: server }')).message).toBe(REFUSED_DOCKER);
    expect(parseError(withCheck(DOCKER, '{ type: tcp, port: 8080, from: server }')).message).toBe(REFUSED_DOCKER);
    const coolify = parseError(withCheck(COOLIFY, '{ type: http, url: "https://a.example.com/up", from: server }'));
    expect(coolify.message).toContain('staging.health_check.from: server needs a provider that runs commands on the target\'s server (bare_metal); coolify probes from the worker');
    expect(coolify.problems[0]).toMatchObject({ line: expect.any(Number) });
  });

  it('from: worker is accepted for every provider and, being the default, is not written to the domain', () => {
    for (const env of [DOCKER, COOLIFY, BARE]) {
      for (const hc of ['{ type: http, port: 8080, from: worker }', '{ type: tcp, port: 8080, from: worker }']) {
        const check = resolveTarget(parseConfigText(withCheck(env, hc)), 'my_api', 'staging').healthCheck;
        expect(check).toBeDefined();
        expect(check).not.toHaveProperty('from');
      }
    }
  });

  it('an unknown from is refused with what is allowed', () => {
    expect(parseError(withCheck(BARE, '{ type: tcp, port: 1, from: remote }')).message).toContain(
      "health_check.from: \"remote\" is not valid; allowed: worker, or server with a provider that runs commands on the target's server (bare_metal)",
    );
  });

  it('defaults leave the domain check without the new fields (recorded targets stay the same)', async () => {
    const config = await loadConfig(fixture('valid.yaml'));
    for (const target of listTargets(config)) {
      expect(target.healthCheck ?? {}).not.toHaveProperty('from');
      expect(target.healthCheck ?? {}).not.toHaveProperty('bodyContains');
    }
    const tcp = resolveTarget(parseConfigText(withCheck(DOCKER, '{ type: tcp, port: 1 }')), 'my_api', 'staging');
    expect(Object.keys(tcp.healthCheck ?? {}).sort()).toEqual(['host', 'intervalSeconds', 'port', 'timeoutSeconds', 'type']);
  });

  it('an inherited from: server is refused where it is written, naming the environment that cannot use it', () => {
    const fromFraise = parseError(
      'fraises:\n  my_api:\n    health_check: { type: tcp, port: 1, from: server }\n    providers:\n' +
        `      prod: { ${BARE.replace('\n', ', ')} }\n` +
        `      staging: { ${DOCKER.replace('\n', ', ')} }\n`,
    );
    expect(fromFraise.message).toBe(
      "fraises.yaml: fraises.my_api.health_check.from: server needs a provider that runs commands on the target's server (bare_metal); fraises.my_api.providers.staging inherits this check, and its provider docker_compose probes from the worker; allowed: worker: remove from, or use from: worker, or give fraises.my_api.providers.staging a health_check of its own",
    );
    expect(fromFraise.problems[0]).toMatchObject({ line: 3 });

    const fromDefaults = parseError(
      'defaults:\n  health_check: { type: http, port: 1, from: server }\nfraises:\n  my_api:\n    providers:\n' +
        `      staging: { ${COOLIFY.replace('\n', ', ')} }\n`,
    );
    expect(fromDefaults.problems.map((p) => p.path)).toEqual(['defaults.health_check.from']);
    expect(fromDefaults.message).toContain('fraises.my_api.providers.staging inherits this check, and its provider coolify probes from the worker');

    // An environment with its own check (or type: none) does not inherit: accepted.
    const overridden = parseConfigText(
      'defaults:\n  health_check: { type: http, port: 1, from: server }\nfraises:\n  my_api:\n    providers:\n' +
        `      prod: { ${BARE.replace('\n', ', ')} }\n` +
        `      staging: { ${DOCKER.replace('\n', ', ')}, health_check: { type: http, port: 1 } }\n` +
        `      preview: { ${DOCKER.replace('\n', ', ')}, health_check: { type: none } }\n`,
    );
    expect(resolveTarget(overridden, 'my_api', 'prod').healthCheck).toMatchObject({ from: 'server' });
    expect(resolveTarget(overridden, 'my_api', 'staging').healthCheck).not.toHaveProperty('from');
    expect(resolveTarget(overridden, 'my_api', 'preview').healthCheck).toBeUndefined();
  });

  it('resolveTarget refuses it too, for a config that did not come through the loader', () => {
    const config = parseConfigText(withCheck(DOCKER, '{ type: tcp, port: 1 }'));
    const check = config.fraises.my_api?.providers.staging?.health_check;
    if (check?.type !== 'tcp') throw new Error('expected a tcp check');
    check.from = 'server';
    expect(() => resolveTarget(config, 'my_api', 'staging')).toThrow(REFUSED_DOCKER);
  });
});
