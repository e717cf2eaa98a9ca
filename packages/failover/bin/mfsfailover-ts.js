#!/usr/bin/env node
// Runs the TypeScript sources directly (through tsx), so there is never a stale build to run.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli.ts');
