import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { formatLogEntry } from '../../workers/logger';

const at = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z in nanoseconds

describe("the worker's log lines", () => {
  it('an expected failure: one line with the workflow, the reason and its type, no stack', () => {
    const error = ApplicationFailure.nonRetryable('deploy of bad to shop/prod (docker_compose) failed: health check failed', 'DeployFailed');
    const line = formatLogEntry({ level: 'WARN', message: 'Workflow failed', timestampNanos: at, meta: { error, workflowType: 'deploy', workflowId: 'docker_compose:shop:prod' } });
    expect(line).toBe(
      '2026-01-01T00:00:00.000Z [WARN] Workflow failed: deploy docker_compose:shop:prod: deploy of bad to shop/prod (docker_compose) failed: health check failed (DeployFailed)',
    );
    expect(line).not.toContain('\n');
  });

  it('a workflow failure as it reaches the log from the workflow thread (name and message kept, type lost): one line', () => {
    const copy = structuredClone(ApplicationFailure.nonRetryable('cannot roll back shop/prod (docker_compose): found no previous release', 'NoRelease'));
    expect(copy.name).toBe('Error'); // what a structured clone keeps of it
    const line = formatLogEntry({ level: 'WARN', message: 'Workflow failed', timestampNanos: at, meta: { error: copy, workflowType: 'rollback', workflowId: 'docker_compose:shop:prod' } });
    expect(line).toBe('2026-01-01T00:00:00.000Z [WARN] Workflow failed: rollback docker_compose:shop:prod: cannot roll back shop/prod (docker_compose): found no previous release');
  });

  it("a provider's progress is one line naming the operation and the step", () => {
    const meta = { sdkComponent: 'activity', attempt: 2, taskToken: 'Ci…', activityType: 'deployVersion', workflowId: 'docker_compose:shop:prod', workflowType: 'deploy' };
    expect(formatLogEntry({ level: 'INFO', message: 'pulling shop:v2', timestampNanos: at, meta })).toBe(
      '2026-01-01T00:00:00.000Z [INFO] docker_compose:shop:prod deployVersion attempt 2: pulling shop:v2',
    );
  });

  it('an unexpected error keeps its stack', () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'x')");
    const line = formatLogEntry({ level: 'WARN', message: 'Activity failed', timestampNanos: at, meta: { error, activityType: 'deployVersion' } });
    expect(line).toContain("TypeError: Cannot read properties of undefined (reading 'x')");
    expect(line).toMatch(/\n\s+at /);
  });

  it('an ApplicationFailure of a type fraisier does not expect keeps its stack too', () => {
    const error = ApplicationFailure.retryable('boom', 'SomethingElse');
    expect(formatLogEntry({ level: 'WARN', message: 'Workflow failed', timestampNanos: at, meta: { error } })).toMatch(/\n\s+at /);
  });
});
