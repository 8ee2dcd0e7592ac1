/**
 * Coolify's own OpenAPI file (v4.3.10, in ../shared/contracts/ beside this repository) as the double's contract:
 * every request it receives and every response it sends is validated against it by openapi-backend (ajv, with
 * ajv-formats so that `date-time` is checked). Where the file is wrong about what Coolify really does, the
 * difference is listed once, in KNOWN_DEVIATIONS, naming its note in COOLIFY-NOTES.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { parse } from 'yaml';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DEFAULT_OPENAPI_FILE = resolve(REPO, '..', 'shared', 'contracts', 'coolify-openapi-v4.3.10.yaml');

export interface Violation {
  operationId: string;
  kind: 'request' | 'response';
  status?: number;
  errors: string[];
}

/** Responses where the file is wrong; each is checked against what Coolify really sends instead. */
export const KNOWN_DEVIATIONS: Readonly<Record<string, { note: string; schema: (components: Record<string, unknown>) => object }>> = {
  'list-deployments-by-app-uuid': {
    note: 'COOLIFY-NOTES.md, Deployments: "GET /deployments/applications/{uuid} -> {count, deployments} (the OpenAPI file says an array)"',
    schema: (c) => ({
      type: 'object',
      required: ['count', 'deployments'],
      properties: { count: { type: 'integer' }, deployments: { type: 'array', items: c.ApplicationDeploymentQueue } },
    }),
  },
};

export interface Contract {
  api: OpenAPIBackend;
  /** Request body keys the operation's schema does not declare (Coolify answers 422 "This field is not allowed."). */
  unknownBodyFields(operationId: string, body: unknown): string[];
  checkResponse(operationId: string, status: number, body: unknown): string[];
}

export async function loadContract(file = process.env.COOLIFY_OPENAPI_FILE || DEFAULT_OPENAPI_FILE): Promise<Contract> {
  if (!existsSync(file)) {
    throw new Error(`Coolify's OpenAPI file is not at ${file}: the double validates against it; set COOLIFY_OPENAPI_FILE, or keep ../shared/contracts beside the repository`);
  }
  const document = parse(readFileSync(file, 'utf8')) as Document & { components: { schemas: Record<string, unknown> } };
  // quick: the file declares 3.1 but is written in 3.0 (`nullable`), so openapi-backend's own check of the document
  // (3.0 meta-schema) refuses it; requests and responses are still validated, nullable and formats included.
  const api = new OpenAPIBackend({
    definition: document,
    quick: true,
    validate: true,
    customizeAjv: (ajv) => {
      addFormats(ajv);
      return ajv;
    },
  });
  await api.init();
  const deviations = new Map<string, ValidateFunction>();
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  for (const [operationId, d] of Object.entries(KNOWN_DEVIATIONS)) deviations.set(operationId, ajv.compile(d.schema(api.definition.components?.schemas ?? {})));

  return {
    api,
    unknownBodyFields(operationId, body) {
      const op = api.getOperation(operationId);
      const schema = (op?.requestBody as { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } | undefined)?.content?.['application/json']?.schema;
      if (!schema?.properties || typeof body !== 'object' || body === null) return [];
      return Object.keys(body).filter((key) => !(key in (schema.properties ?? {})));
    },
    checkResponse(operationId, status, body) {
      const deviation = deviations.get(operationId);
      if (deviation && status === 200) return deviation(body) ? [] : [`${operationId}: ${ajv.errorsText(deviation.errors)}`];
      const r = api.validateResponse(body, operationId, status);
      return r.valid ? [] : (r.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
    },
  };
}
