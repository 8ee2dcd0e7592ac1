/** Web UI link of a workflow; FRAISIER_UI_URL (or TEMPORAL_UI_URL) overrides the dev server's default. */
export function workflowUiUrl(namespace: string, workflowId: string, runId?: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = (env.FRAISIER_UI_URL || env.TEMPORAL_UI_URL || 'http://127.0.0.1:8233').replace(/\/+$/, '');
  const id = encodeURIComponent(workflowId);
  return runId ? `${base}/namespaces/${namespace}/workflows/${id}/${runId}/history` : `${base}/namespaces/${namespace}/workflows/${id}`;
}
