export { deploy } from './deploy';
export { rollback } from './rollback';
export { cleanup, cleanupTarget } from './cleanup';
export { inspectStatus, inspectLogs, testProvider } from './inspect';
export { power } from './power';
