// @temporalio/proto is CommonJS: its namespaces come through the default export under ESM.
import proto from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../workflows/searchAttributes';

/** Registers fraisier's search attributes on a cluster that lacks them (the dev server gets them by flag). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { temporal } = proto;
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => k.name).filter((name) => !known.has(name));
  if (missing.length === 0) return [];
  const searchAttributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {};
  for (const name of missing) searchAttributes[name] = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing;
}
