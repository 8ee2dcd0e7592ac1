import type { Migration } from 'kysely';
import { initial } from './0001_initial';
import { targetStateReconcile } from './0002_target_state_reconcile';
import { providerRef } from './0003_provider_ref';
import { projects } from './0004_projects';

/**
 * Every migration, keyed by a name that sorts in the order they must run. Add new ones here (never
 * rename or edit one that has shipped): the map is imported, not scanned from disk, so it works
 * the same under tsx, a bundler or compiled output.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_target_state_reconcile': targetStateReconcile,
  '0003_provider_ref': providerRef,
  '0004_projects': projects,
};
