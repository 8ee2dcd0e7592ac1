import { describe, expect, it } from 'vitest';
import { formatEnvAssignment, parseEnvFile } from '../../activities/dotenv';
import { envFileContent, renderTemplate } from '../../activities/projects/template';

const vars = { PROJECT_ID: 'acme', API_PORT: '20000', DB_PASSWORD: 'Xy7kPq' };

describe('renderTemplate', () => {
  it('substitutes ${NAME}, turns $${ into ${, and leaves compose\'s own $VAR and $$ alone', () => {
    const template = [
      'name: proj-${PROJECT_ID}',
      'services:',
      '  api:',
      '    ports: ["127.0.0.1:${API_PORT}:8080"]',
      '    environment:',
      '      DB: postgres://app:${DB_PASSWORD}@db/app',
      '      FROM_COMPOSE: $${HOME} $$ $HOME',
      '',
    ].join('\n');
    expect(renderTemplate(template, vars)).toBe(
      [
        'name: proj-acme',
        'services:',
        '  api:',
        '    ports: ["127.0.0.1:20000:8080"]',
        '    environment:',
        '      DB: postgres://app:Xy7kPq@db/app',
        '      FROM_COMPOSE: ${HOME} $$ $HOME',
        '',
      ].join('\n'),
    );
  });

  it('refuses an unknown variable, naming it, its line and the known ones', () => {
    expect(() => renderTemplate('a: 1\nb: ${DB_PASS}\n', vars)).toThrow(
      'line 2: ${DB_PASS} is not a known variable (known: API_PORT, DB_PASSWORD, PROJECT_ID)',
    );
  });

  it('lists every problem at once', () => {
    const err = (() => {
      try {
        renderTemplate('${A}\n${B:-x}\n${C\n', vars);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected an error');
    })();
    expect(err.message).toContain('line 1: ${A} is not a known variable');
    expect(err.message).toContain('line 2: "${B:-x}" is not a plain ${NAME}');
    expect(err.message).toContain('line 3: "${" is not closed');
  });

  it.each([
    ['${PROJECT_ID$(id)}', 'is not a plain'],
    ['${ PROJECT_ID }', 'is not a plain'],
    ['${}', 'is not a plain'],
    ['${PROJECT_ID', 'is not closed'],
  ])('refuses the hostile placeholder %j', (template, why) => {
    expect(() => renderTemplate(template, vars)).toThrow(why);
  });

  it.each([
    ['a\nb: injected', '"\\n"'],
    ['a\r', '"\\r"'],
    ['a\0', '"\\u0000"'],
    ['$(id)', '"$"'],
    ['${PROJECT_ID}', '"$"'],
  ])('refuses the value %j, which would change the file', (value, what) => {
    expect(() => renderTemplate('x: ${V}', { V: value })).toThrow(`the value of V holds ${what}`);
  });

  it('puts quotes and unicode in as they are: the template decides how to quote', () => {
    expect(renderTemplate("x: '${V}'", { V: 'naïve "ü" ☃' })).toBe('x: \'naïve "ü" ☃\'');
  });
});

describe('envFileContent', () => {
  it('writes one line per variable, quoting only what needs it', () => {
    expect(envFileContent({ PROJECT_ID: 'acme', API_PORT: '20000', GREETING: 'hello world', EMPTY: '', UNI: 'clé☃' })).toBe(
      "PROJECT_ID=acme\nAPI_PORT=20000\nGREETING='hello world'\nEMPTY=\nUNI=clé☃\n",
    );
  });

  it.each(['$(id)', '${HOME}', '`id`', 'a # not a comment', '"double"', ' padded ', 'tab\there', 'p@ss:w/rd?&=', 'naïve ☃ 日本'])(
    'reads back %j exactly (through the env file parser the compose provider uses)',
    (value) => {
      const text = envFileContent({ V: value });
      expect(text.split('\n')).toHaveLength(2);
      expect(parseEnvFile(text)).toEqual({ V: value });
    },
  );

  it('single-quotes what compose would interpolate', () => {
    expect(formatEnvAssignment('V', '$(id)')).toBe("V='$(id)'");
    expect(formatEnvAssignment('V', '${HOME}')).toBe("V='${HOME}'");
  });

  it.each([
    ['line\nbreak', '"\\n"'],
    ['carriage\rreturn', '"\\r"'],
    ['nul\0', '"\\u0000"'],
  ])('refuses %j, naming the variable', (value, what) => {
    expect(() => envFileContent({ DB_PASSWORD: value })).toThrow(`the value of DB_PASSWORD holds ${what}`);
  });

  it.each(["it's", 'back\\slash'])('refuses %j, which compose v1 and v2 would read differently', (value) => {
    expect(() => envFileContent({ V: value })).toThrow(/the value of V needs quoting and holds "'" or "\\"/);
  });

  it.each(['1BAD', 'BAD-NAME', 'BAD NAME', ''])('refuses the name %j', (name) => {
    expect(() => envFileContent({ [name]: 'x' })).toThrow('cannot be an env file variable');
  });
});
