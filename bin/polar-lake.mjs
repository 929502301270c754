#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: the streaming parsers allocate short-lived rows fast, and V8 grows
// its young generation with the allocation rate; capped at 4 MB semi-spaces, parsing a 277 MB
// TCX peaks at 99 MB RSS instead of 125, at the same speed (docs/parse-bench.md). The flag only
// takes effect at start-up, so it is here, in the npm scripts and in docker-compose.yml.
// Runs the TypeScript sources directly through tsx, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
