import { defineSignal } from '@temporalio/workflow';

/**
 * A provider's deployment ended, as a push notification says (Coolify's webhook, relayed by fraisier's receiver).
 * Only a hint: the workflow confirms with the provider before acting on it.
 */
export const deploymentEndedSignal = defineSignal<[{ providerRef: string }]>('deploymentEnded');
