#!/usr/bin/env node
// The fraisier CLI. Sources are TypeScript, run through tsx's loader (a dependency), so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
