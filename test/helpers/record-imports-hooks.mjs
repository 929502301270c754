// Module hooks for record-imports.mjs (they run on the loader thread).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.POLAR_LAKE_IMPORT_LOG) appendFileSync(process.env.POLAR_LAKE_IMPORT_LOG, `${result.url}\n`);
  return result;
}
