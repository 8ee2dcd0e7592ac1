/**
 * On a cluster other than our dev server (TEMPORAL_ADDRESS), the worker registers fraisier's search attributes
 * itself. A fresh namespace on the dev server stands in for such a cluster: it has none of them yet.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureSearchAttributes } from '../../workers/searchAttributes';

const namespace = `fraisier-sa-${process.pid}`;
let connection: Connection;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
});

afterAll(async () => {
  await connection?.close();
});

describe('ensureSearchAttributes', () => {
  it('registers the missing ones as Keyword, then finds nothing left to do', async () => {
    expect(await ensureSearchAttributes(connection, namespace)).toEqual([
      'FraiseName',
      'FraiseEnvironment',
      'FraiseProvider',
      'FraiseVersion',
      'FraiseOperation',
    ]);
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(listed.customAttributes ?? {})).toEqual(expect.arrayContaining(['FraiseName', 'FraiseOperation']));
    expect(await ensureSearchAttributes(connection, namespace)).toEqual([]);
  });
});
