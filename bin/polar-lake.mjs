#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: the streaming parsers allocate short-lived rows fast, and V8 grows
// its young generation with the allocation rate; capped at 4 MB semi-spaces, parsing a 277 MB
// TCX peaks at 99 MB RSS instead of 125, at the same speed (docs/parse-bench.md). The flag only
// takes effect at start-up, so it is here, in the npm scripts and in docker-compose.yml.
// Runs the compiled JavaScript in dist/ (`npm ci` builds it through the `prepare` script;
// `npm run build` after changing src/), so a start compiles nothing. Development runs the
// sources through tsx instead: node bin/run-ts.mjs src/cli/main.ts ...
const main = new URL('../dist/cli/main.js', import.meta.url);
try {
  await import(main.href);
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && error.url === main.href) {
    console.error('polar-lake: dist/ is not built: run `npm run build` (npm ci runs it) in ' + new URL('..', import.meta.url).pathname);
    process.exit(1);
  }
  throw error;
}
