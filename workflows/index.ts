export { deploy } from './deploy';
export { rollback } from './rollback';
export { cleanup, cleanupTarget } from './cleanup';
export { inspectStatus, inspectLogs, testProvider } from './inspect';
export { power } from './power';
export { provisionProject, restoreProject, stopProject, startProject, deleteProject } from './projects';
