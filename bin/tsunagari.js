#!/usr/bin/env node
// The `tsunagari` command: registers the TypeScript loader (tsx) and hands over to src/cli.ts.
import { register } from 'tsx/esm/api';
register();
const { runCli } = await import('../src/cli.ts');
await runCli(process.argv.slice(2));
