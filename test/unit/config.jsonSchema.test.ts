import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FRAISES_SCHEMA_ID, fraisesJsonSchema, fraisesJsonSchemaText, type JsonSchema } from '../../config/jsonSchema';
import { providerNames } from '../../activities/providers/registry';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * A small structural JSON Schema checker, for the keywords the generated schema uses (no ajv in
 * the dependencies): returns the JSON pointers of the values that do not match.
 */
function check(schema: JsonSchema, value: unknown, root: JsonSchema, at = ''): string[] {
  const ref = schema.$ref;
  if (typeof ref === 'string') {
    const name = ref.replace(/^#\/\$defs\//, '');
    const target = (root.$defs as Record<string, JsonSchema>)[name];
    if (!target) return [`${at}: unresolved ${ref}`];
    return check(target, value, root, at);
  }
  const errors: string[] = [];
  const fail = (why: string) => errors.push(`${at || '/'}: ${why}`);
  if ('const' in schema && value !== schema.const) fail(`not ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) fail('not in enum');
  switch (schema.type) {
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not an object');
      break;
    case 'array':
      if (!Array.isArray(value)) fail('not an array');
      break;
    case 'string':
      if (typeof value !== 'string') fail('not a string');
      break;
    case 'integer':
      if (!Number.isInteger(value)) fail('not an integer');
      break;
    case 'number':
      if (typeof value !== 'number') fail('not a number');
      break;
    case 'boolean':
      if (typeof value !== 'boolean') fail('not a boolean');
      break;
  }
  if (errors.length > 0) return errors;
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) fail(`does not match ${schema.pattern}`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) fail('too short');
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail('below minimum');
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail('above maximum');
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) fail('not above exclusiveMinimum');
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail('too few items');
    if (schema.items && typeof schema.items === 'object') {
      value.forEach((item, i) => errors.push(...check(schema.items as JsonSchema, item, root, `${at}/${i}`)));
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in obj)) fail(`missing ${key}`);
    for (const [key, v] of Object.entries(obj)) {
      if (schema.propertyNames) errors.push(...check(schema.propertyNames as JsonSchema, key, root, `${at}/${key} (name)`));
      const sub = props[key];
      if (sub) errors.push(...check(sub, v, root, `${at}/${key}`));
      else if (schema.additionalProperties === false) fail(`unexpected ${key}`);
      else if (typeof schema.additionalProperties === 'object') {
        errors.push(...check(schema.additionalProperties as JsonSchema, v, root, `${at}/${key}`));
      }
    }
  }
  if (Array.isArray(schema.oneOf)) {
    const passing = (schema.oneOf as JsonSchema[]).filter((s) => check(s, value, root, at).length === 0).length;
    if (passing !== 1) fail(`${passing} oneOf branches match`);
  }
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as JsonSchema[]).some((s) => check(s, value, root, at).length === 0)) {
    fail('no anyOf branch matches');
  }
  return errors;
}

async function yamlFile(path: string): Promise<unknown> {
  return parse(await readFile(path, 'utf8'));
}

describe('fraises.schema.json', () => {
  it('is up to date: regenerate it with `npx tsx config/writeJsonSchema.ts`', async () => {
    const committed = await readFile(resolve(ROOT, 'fraises.schema.json'), 'utf8');
    expect(committed).toBe(fraisesJsonSchemaText());
  });

  it('is draft 2020-12 with an $id, descriptions and per-provider environments', () => {
    const schema = fraisesJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(FRAISES_SCHEMA_ID);
    expect(schema.description).toMatch(/fraises/);
    const defs = schema.$defs as Record<string, JsonSchema>;
    const envOptions = (defs.Environment?.oneOf ?? []) as JsonSchema[];
    const providersInSchema = envOptions.map((o) => {
      const env = defs[String(o.$ref).replace('#/$defs/', '')] as { properties: { provider: { const: string } } };
      return env.properties.provider.const;
    });
    expect(providersInSchema).toEqual(providerNames);
    expect(defs.BareMetalConfig?.properties).toHaveProperty('ssh_host.description');
    expect(defs.BareMetalConfig?.required).toEqual(['ssh_host', 'ssh_user', 'app_path']);
  });

  it('accepts the valid fixture (and the example, when it exists)', async () => {
    const schema = fraisesJsonSchema();
    expect(check(schema, await yamlFile(resolve(ROOT, 'test/fixtures/config/valid.yaml')), schema)).toEqual([]);
    const example = resolve(ROOT, 'examples/fraises.yaml');
    const exists = await import('node:fs').then((fs) => fs.existsSync(example));
    if (exists) expect(check(schema, await yamlFile(example), schema)).toEqual([]);
  });

  it('refuses broken files (sanity check of the checker)', async () => {
    const schema = fraisesJsonSchema();
    for (const name of ['unknown-provider.yaml', 'missing-key.yaml', 'hostile.yaml', 'many-errors.yaml']) {
      expect(check(schema, await yamlFile(resolve(ROOT, 'test/fixtures/config', name)), schema), name).not.toEqual([]);
    }
  });
});
