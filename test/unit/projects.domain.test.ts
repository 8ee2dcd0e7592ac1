import { describe, expect, it } from 'vitest';
import { lockWorkflowId } from '../../domain/ids';
import {
  maskUrlPassword,
  placeholderNames,
  PROJECT_ID_MAX_LENGTH,
  projectLockKey,
  replacePlaceholders,
  validateProjectId,
} from '../../domain/projects';

describe('validateProjectId', () => {
  it.each(['a', '0', 'acme', 'shop-eu-2', 'a-b', 'x'.repeat(PROJECT_ID_MAX_LENGTH)])('accepts %j', (id) => {
    expect(validateProjectId(id)).toBe(id);
  });

  it.each([
    ['', 'is empty'],
    ['-acme', 'starts or ends with "-"'],
    ['acme-', 'starts or ends with "-"'],
    ['Acme', 'characters other than'],
    ['ac_me', 'characters other than'],
    ['a b', 'characters other than'],
    ['../x', 'characters other than'],
    ['a;rm', 'characters other than'],
    ['é', 'characters other than'],
    ['x'.repeat(PROJECT_ID_MAX_LENGTH + 1), `longer than ${PROJECT_ID_MAX_LENGTH}`],
  ])('rejects %j, naming the value and the rule', (id, why) => {
    expect(() => validateProjectId(id)).toThrow(why);
    expect(() => validateProjectId(id)).toThrow(/a project id has lowercase letters, digits and "-", starting and ending with a letter or digit, 1 to 40/);
    if (id !== '') expect(() => validateProjectId(id)).toThrow(JSON.stringify(id.length > 80 ? `${id.slice(0, 77)}...` : id));
  });

  it('rejects what is not a string', () => {
    expect(() => validateProjectId(42)).toThrow('project id must be a string, got 42');
  });
});

describe('maskUrlPassword', () => {
  it.each([
    ['postgres://app:s3cret@127.0.0.1:20001/app', 'postgres://app:***@127.0.0.1:20001/app'],
    ['postgres://app:pa@ss@db/app?sslmode=disable', 'postgres://app:***@db/app?sslmode=disable'],
    ['https://u:p@example.com', 'https://u:***@example.com'],
    ['postgres://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app', 'postgres://app:***@127.0.0.1:${DB_PORT}/app'],
  ])('masks the password of %j', (url, masked) => {
    expect(maskUrlPassword(url)).toBe(masked);
  });

  it.each([
    'http://127.0.0.1:20000',
    'postgres://app@db/app',
    'postgres://app:@db/app',
    'http://example.com/a:b@c',
    'not a url: user:pw@host',
    '',
  ])('leaves %j as it is', (value) => {
    expect(maskUrlPassword(value)).toBe(value);
  });
});

describe('projectLockKey', () => {
  it('is one workflow id per backend and project', () => {
    expect(projectLockKey('local', 'acme')).toBe('fraisier-project-local-acme');
    expect(projectLockKey('coolify', 'acme')).toBe('fraisier-project-coolify-acme');
  });

  it('never equals a deploy lock', () => {
    expect(projectLockKey('local', 'acme')).not.toContain(':');
    expect(lockWorkflowId({ provider: 'docker_compose', fraise: 'acme', environment: 'local' })).toContain(':');
  });

  it('refuses a bad id rather than forming a lock from it', () => {
    expect(() => projectLockKey('local', 'Bad Id')).toThrow('project id "Bad Id"');
  });
});

describe('placeholders of URL templates', () => {
  it('lists and replaces ${NAME}, leaving $${NAME} as it is', () => {
    const template = 'postgres://app:${DB_PASSWORD}@h:${DB_PORT}/$${LITERAL}';
    expect(placeholderNames(template)).toEqual(['DB_PASSWORD', 'DB_PORT']);
    expect(replacePlaceholders(template, (name) => name.toLowerCase())).toBe('postgres://app:db_password@h:db_port/$${LITERAL}');
    expect(placeholderNames('http://${}${ A }')).toEqual(['', ' A ']);
  });
});
