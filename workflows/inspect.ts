import type { PreflightReport, ServiceStatus } from '../domain/release';
import type { Target } from '../domain/target';
import { probeActivities } from './activities';

/**
 * Read-only looks at a target, run on a worker because only workers reach providers (a worker per Docker
 * host, say). They take no lock: they change nothing.
 */
export async function inspectStatus(target: Target): Promise<ServiceStatus> {
  await probeActivities.validateTarget(target);
  return probeActivities.fetchStatus(target);
}

export async function inspectLogs(target: Target, tail: number): Promise<string> {
  await probeActivities.validateTarget(target);
  return probeActivities.fetchLogs(target, tail);
}

export async function testProvider(target: Target): Promise<PreflightReport> {
  await probeActivities.validateTarget(target);
  return probeActivities.preflight(target);
}
