#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so that `npx parley` works straight after `npm ci`,
// with no separate build of the Node-side code.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
