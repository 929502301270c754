// Writes docs/tables.md and the README's table reference from schemas/tables/*.json:
//   node bin/run-ts.mjs scripts/gen-table-docs.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withReadmeTables } from '../src/lake/readme-tables.ts';
import { renderTableDocs } from '../src/lake/table-docs.ts';

const docs = fileURLToPath(new URL('../docs/tables.md', import.meta.url));
writeFileSync(docs, renderTableDocs());
console.log(`wrote ${docs}`);
const readme = fileURLToPath(new URL('../README.md', import.meta.url));
writeFileSync(readme, withReadmeTables(readFileSync(readme, 'utf8')));
console.log(`updated the table reference in ${readme}`);
