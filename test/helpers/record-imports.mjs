// node --import ./test/helpers/record-imports.mjs ...: appends the URL of every module the
// process resolves to the file named by POLAR_LAKE_IMPORT_LOG (tests of what a command loads).
import { register } from 'node:module';
register('./record-imports-hooks.mjs', import.meta.url);
