import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FRAISES_SCHEMA_ID, fraisesJsonSchema, fraisesJsonSchemaText, type JsonSchema } from '../../config/jsonSchema';
import { providerNames } from '../../config/providers/index';

const ROOT = resolve(import.meta.dirname, '../..');

/** The JSON pointers and messages of what does not match, as an editor's validator (ajv, draft 2020-12) sees it. */
function check(schema: JsonSchema, value: unknown): string[] {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
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
    expect(defs.BareMetalConfig?.required).toEqual(['ssh_host', 'ssh_user', 'app_path', 'repo']);
  });

  it('accepts the valid fixture (and the example, when it exists)', async () => {
    const schema = fraisesJsonSchema();
    expect(check(schema, await yamlFile(resolve(ROOT, 'test/fixtures/config/valid.yaml')))).toEqual([]);
    const example = resolve(ROOT, 'examples/fraises.yaml');
    const exists = await import('node:fs').then((fs) => fs.existsSync(example));
    if (exists) expect(check(schema, await yamlFile(example))).toEqual([]);
  });

  it('refuses broken files', async () => {
    const schema = fraisesJsonSchema();
    for (const name of ['unknown-provider.yaml', 'missing-key.yaml', 'hostile.yaml', 'many-errors.yaml']) {
      expect(check(schema, await yamlFile(resolve(ROOT, 'test/fixtures/config', name))), name).not.toEqual([]);
    }
  });
});
