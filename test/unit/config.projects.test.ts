import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../config/load';
import { chooseBackend, resolveProjects } from '../../config/projects';

const FRAISES = 'fraises:\n  my_api:\n    providers:\n      staging:\n        provider: docker_compose\n        config: { compose_file: c.yml, service_name: api }\n';

function withProjects(projects: string, label = '/srv/deploy/fraises.yaml') {
  return parseConfigText(`projects:\n${projects.split('\n').map((l) => `  ${l}`).join('\n')}\n${FRAISES}`, label);
}

function problems(projects: string): string[] {
  try {
    withProjects(projects);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

const FULL = `template: stacks/project.compose.yml
secrets:
  - { name: DB_PASSWORD, kind: password }
  - { name: JWT_SECRET, kind: hex, length: 64 }
  - { name: INSTANCE, kind: uuid }
ports: [API_PORT, DB_PORT]
api_url: "http://127.0.0.1:\${API_PORT}"
db_url: "postgres://app:\${DB_PASSWORD}@127.0.0.1:\${DB_PORT}/\${PROJECT_ID}"
health_check: { path: /healthz, timeout: 30s }
ready_timeout: 3m`;

describe('projects: in fraises.yaml', () => {
  it('is optional', () => {
    expect(parseConfigText(FRAISES).projects).toBeUndefined();
  });

  it('resolves with defaults filled in and the template made absolute against the file', () => {
    expect(resolveProjects(withProjects(FULL))).toEqual({
      template: path.resolve('/srv/deploy', 'stacks/project.compose.yml'),
      secrets: [
        { name: 'DB_PASSWORD', kind: 'password', length: 32 },
        { name: 'JWT_SECRET', kind: 'hex', length: 64 },
        { name: 'INSTANCE', kind: 'uuid', length: 32 },
      ],
      ports: ['API_PORT', 'DB_PORT'],
      portRange: { from: 20000, to: 29999 },
      apiUrl: 'http://127.0.0.1:${API_PORT}',
      dbUrl: 'postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/${PROJECT_ID}',
      healthCheck: { path: '/healthz', expectedStatus: 200, timeoutSeconds: 30, intervalSeconds: 2 },
      backend: 'auto',
      readyTimeoutSeconds: 180,
      coolify: null,
    });
  });

  it('keeps an absolute or ~ template as it is; the smallest section is a template', () => {
    expect(resolveProjects(withProjects('template: /opt/t.yml')).template).toBe('/opt/t.yml');
    const minimal = resolveProjects(withProjects('template: ~/t.yml'));
    expect(minimal).toMatchObject({ template: '~/t.yml', secrets: [], ports: [], apiUrl: null, dbUrl: null, healthCheck: null, readyTimeoutSeconds: 120 });
  });

  it('coolify: the server, the shared Coolify project (default fraisier-projects), a destination only when given', () => {
    expect(resolveProjects(withProjects('template: t.yml\nbackend: coolify\ncoolify: { server_uuid: k0c8sg4ww8k4okgowkc4g8ok }')).coolify).toEqual({
      serverUuid: 'k0c8sg4ww8k4okgowkc4g8ok',
      destinationUuid: null,
      project: 'fraisier-projects',
    });
    const named = resolveProjects(withProjects('template: t.yml\ncoolify: { server_uuid: abc, destination_uuid: def, project: Tenants }'));
    expect(named.coolify).toEqual({ serverUuid: 'abc', destinationUuid: 'def', project: 'Tenants' });
  });

  it.each([
    ['template: t.yml\nbackend: coolify', 'projects.coolify: missing: backend is coolify'],
    ['template: t.yml\ncoolify: { project: x }', 'projects.coolify.server_uuid'],
    ['template: t.yml\ncoolify: { server_uuid: "Not A Uuid" }', 'projects.coolify.server_uuid'],
    ['template: t.yml\ncoolify: { server_uuid: abc, servers: [] }', 'projects.coolify.servers'],
  ])('coolify: refuses %j at %s', (projects, expected) => {
    expect(problems(projects).some((l) => l.includes(expected) && l.includes('; allowed: '))).toBe(true);
  });

  it('says when there is no projects section', () => {
    expect(() => resolveProjects(parseConfigText(FRAISES))).toThrow('fraises.yaml: projects: no projects section');
  });

  it('refuses a URL variable that names nothing declared, naming the key and the known names', () => {
    expect(problems('template: t.yml\nports: [API_PORT]\nsecrets: [{ name: DB_PASSWORD, kind: password }]\napi_url: "http://h:${API_PROT}/${PROJECT}"')).toEqual([
      expect.stringContaining('projects.api_url: ${API_PROT} is not a declared port, secret or PROJECT_ID; allowed: ${NAME} of a declared port or secret, or ${PROJECT_ID}: API_PORT, DB_PASSWORD, PROJECT_ID'),
      expect.stringContaining('projects.api_url: ${PROJECT} is not a declared port'),
    ]);
    expect(problems('template: t.yml\ndb_url: "postgres://${USER}@h/db"')[0]).toContain('projects.db_url: ${USER} is not a declared');
  });

  it.each([
    ['api_url: "127.0.0.1:${API_PORT}"', 'projects.api_url: is not an http:// or https:// URL once its variables are replaced'],
    ['api_url: "ftp://h:${API_PORT}"', 'projects.api_url: is not an http:// or https:// URL'],
    ['db_url: "postgres://h:${DB_PASSWORD}"', 'projects.db_url: is not a URL once its variables are replaced'],
  ])('refuses %j, which is no URL', (line, message) => {
    expect(problems(`template: t.yml\nports: [API_PORT]\nsecrets: [{ name: DB_PASSWORD, kind: password }]\n${line}`)[0]).toContain(message);
  });

  it('refuses one name used twice across secrets, ports and PROJECT_ID', () => {
    const lines = problems(
      'template: t.yml\nsecrets: [{ name: X, kind: hex }, { name: PROJECT_ID, kind: hex }]\nports: [API_PORT, X, API_PORT]',
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringContaining('projects.secrets[1].name: PROJECT_ID is already the project id'),
        expect.stringContaining('projects.ports[1]: X is already the name of secrets[0]'),
        expect.stringContaining('projects.ports[2]: API_PORT is already the name of ports[0]'),
      ]),
    );
    expect(lines).toHaveLength(3);
  });

  it.each([
    ['template: t.yml\nsecrets: [{ name: db_password, kind: password }]', 'projects.secrets[0].name'],
    ['template: t.yml\nsecrets: [{ name: A, kind: rot13 }]', 'projects.secrets[0].kind'],
    ['template: t.yml\nsecrets: [{ name: A, kind: hex, length: 7 }]', 'projects.secrets[0].length'],
    ['template: t.yml\nsecrets: [{ name: A, kind: hex, length: 129 }]', 'projects.secrets[0].length'],
    ['template: t.yml\nports: [api-port]', 'projects.ports[0]'],
    ['template: t.yml\nport_range: { from: 30000, to: 20000 }', 'projects.port_range'],
    ['template: t.yml\nports: [A, B, C]\nport_range: { from: 20000, to: 20001 }', 'projects.port_range'],
    ['template: t.yml\nport_range: { from: 0, to: 10 }', 'projects.port_range.from'],
    ['template: t.yml\nbackend: swarm', 'projects.backend'],
    ['template: t.yml\nhealth_check: { path: /x }', 'projects.health_check'],
    ['template: t.yml\nready_timeout: soon', 'projects.ready_timeout'],
    ['secrets: []', 'projects.template'],
    ['template: t.yml\ntemplates: x', 'projects.templates'],
  ])('refuses %j at %s', (projects, key) => {
    const lines = problems(projects);
    expect(lines.some((l) => l.includes(`fraises.yaml: ${key}:`) && l.includes('; allowed: '))).toBe(true);
  });
});

describe('chooseBackend', () => {
  const coolify = { COOLIFY_API_URL: 'https://coolify.example.com', COOLIFY_API_TOKEN: 'tok-123' };

  it('auto: coolify when both variables are set', () => {
    const chosen = chooseBackend('auto', coolify);
    expect(chosen.backend).toBe('coolify');
    expect(chosen.reason).toBe('projects run on Coolify at https://coolify.example.com: projects.backend is auto and COOLIFY_API_URL and COOLIFY_API_TOKEN are set');
  });

  it.each([
    [{}, 'COOLIFY_API_URL and COOLIFY_API_TOKEN are not set'],
    [{ COOLIFY_API_URL: 'https://c' }, 'COOLIFY_API_TOKEN is not set'],
    [{ COOLIFY_API_TOKEN: 'tok-123', COOLIFY_API_URL: '  ' }, 'COOLIFY_API_URL is not set'],
  ])('auto: local when one is missing (%j)', (env, why) => {
    const chosen = chooseBackend('auto', env);
    expect(chosen.backend).toBe('local');
    expect(chosen.reason).toContain(why);
    expect(chosen.reason).toContain('set both COOLIFY_API_URL and COOLIFY_API_TOKEN to use Coolify');
  });

  it('an explicit backend wins, and says what coolify lacks', () => {
    expect(chooseBackend('local', coolify).backend).toBe('local');
    expect(chooseBackend('coolify', {})).toEqual({
      backend: 'coolify',
      reason: "projects run on Coolify (projects.backend is coolify), but COOLIFY_API_URL and COOLIFY_API_TOKEN are not set: set them in the worker's environment",
    });
  });

  it('never says the token, nor a password in the URL', () => {
    const chosen = chooseBackend('auto', { COOLIFY_API_URL: 'https://u:hunter2@c.example', COOLIFY_API_TOKEN: 'tok-123' });
    expect(chosen.reason).not.toContain('tok-123');
    expect(chosen.reason).not.toContain('hunter2');
  });
});
