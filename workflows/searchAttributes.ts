import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { TargetKey } from '../domain/target';

/** Custom search attributes: `temporal workflow list --query "FraiseName='my_api'"` and the Web UI filter by them. */
export const FRAISE_NAME = defineSearchAttributeKey('FraiseName', SearchAttributeType.KEYWORD);
export const FRAISE_ENVIRONMENT = defineSearchAttributeKey('FraiseEnvironment', SearchAttributeType.KEYWORD);
export const FRAISE_PROVIDER = defineSearchAttributeKey('FraiseProvider', SearchAttributeType.KEYWORD);
export const FRAISE_VERSION = defineSearchAttributeKey('FraiseVersion', SearchAttributeType.KEYWORD);
export const FRAISE_OPERATION = defineSearchAttributeKey('FraiseOperation', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTE_KEYS = [FRAISE_NAME, FRAISE_ENVIRONMENT, FRAISE_PROVIDER, FRAISE_VERSION, FRAISE_OPERATION];

export type OperationName = 'deploy' | 'rollback' | 'start' | 'stop' | 'cleanup' | 'cleanup-target' | 'inspect';

export function operationSearchAttributes(
  target: TargetKey,
  operation: OperationName,
  version?: string,
): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [
    { key: FRAISE_NAME, value: target.fraise },
    { key: FRAISE_ENVIRONMENT, value: target.environment },
    { key: FRAISE_PROVIDER, value: target.provider },
    { key: FRAISE_OPERATION, value: operation },
  ];
  if (version !== undefined) pairs.push({ key: FRAISE_VERSION, value: version });
  return pairs;
}
