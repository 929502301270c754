// Writes docs/tables.md from schemas/tables/*.json: node bin/run-ts.mjs scripts/gen-table-docs.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderTableDocs } from '../src/lake/table-docs.ts';

const out = fileURLToPath(new URL('../docs/tables.md', import.meta.url));
writeFileSync(out, renderTableDocs());
console.log(`wrote ${out}`);
