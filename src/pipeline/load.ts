/**
 * Pipeline files (pipelines/*.yaml) → a validated, defaulted, deep-frozen `Pipeline`.
 *
 * Validation is the JSON Schema in schemas/pipeline.schema.json (Ajv), so the schema is the
 * documentation and the parser at once. Every error names the file, the JSON path and the
 * key, e.g. `pipelines/daily.yaml: /parse: unknown field "formt" (allowed: tokenizer, ...)`.
 * Nothing is ever cast from YAML without validation.
 */
import { readFileSync } from 'node:fs';
import cron from 'node-cron';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import type { RedeliveryOptions } from '../bus/redelivery.ts';
import { ConfigError } from '../errors.ts';
import type { TokenizerName } from '../parse/xml/tokenizer.ts';
import type { DailyKind } from '../records/envelope.ts';
import { checkDataTypes, type DataTypeConfig } from './data-types.ts';

export type PayloadKind = 'summary' | 'tcx' | 'gpx' | 'fit' | 'samples' | 'zones' | 'route';

export interface Pipeline {
  readonly version: 1;
  readonly name: string;
  readonly fetch: {
    readonly schedule: string;
    readonly payloads: readonly PayloadKind[];
    /** Date-based types swept (src/daily/endpoints.ts). @default every type */
    readonly daily: readonly DailyKind[];
    /** Per-type switch, frequency and lookback (src/pipeline/data-types.ts resolves them with `daily`). */
    readonly data_types?: Readonly<Partial<Record<DailyKind, DataTypeConfig>>>;
    /** How exercises are read: `listing` (GET /v3/exercises, what Polar recommends) or the legacy `transactional` walk. @default 'transactional' */
    readonly exercise_channel: 'transactional' | 'listing';
    /** Legacy activity / physical-information transactions walked when announced. @default ['activity', 'physical'] */
    readonly transactional: readonly ('activity' | 'physical')[];
    /** GET /v3/users/physical-info on each sweep (with the date-based sweep). @default true */
    readonly physical_info: boolean;
    readonly max_rounds_per_user: number;
    readonly request_concurrency: number;
    /** Largest body per kind, bytes. @default json 64 MiB, tcx 1 GiB, gpx 512 MiB, fit 256 MiB */
    readonly max_response_bytes: { readonly json: number; readonly tcx: number; readonly gpx: number; readonly fit: number };
    /** A body silent this long is stalled. @default 60 */
    readonly body_idle_timeout_secs: number;
  };
  readonly parse: {
    readonly tokenizer: TokenizerName;
    readonly time_order: 'reject' | 'keep';
    readonly batch_rows: number;
    readonly max_xml_text_chars: number;
    readonly max_xml_depth: number;
    readonly max_fit_bytes: number;
  };
  readonly sink: {
    readonly flush_rows: number;
    readonly flush_bytes: number;
    readonly idle_flush_secs: number;
    readonly row_group_rows: number;
    readonly compression: 'zstd' | 'snappy' | 'gzip' | 'uncompressed';
    readonly compact_target_file_bytes: number;
  };
  readonly bus: { readonly partitions: number; readonly session_timeout_ms: number; readonly redelivery: RedeliveryOptions };
}

export class PipelineError extends ConfigError {
  override readonly code = 'PL_CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(problem, `${file}: ${path || '/'}`);
  }
}

const SCHEMA_PATH = fileURLToPath(new URL('../../schemas/pipeline.schema.json', import.meta.url));
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
// useDefaults fills every omitted key from the schema's `default`, so the schema is the one
// place defaults live.
const ajv = new Ajv({ allErrors: true, useDefaults: 'empty', strict: true, strictTypes: false });
// `"format": "cron"` in the schema: node-cron's own validator decides, so lint accepts exactly
// what the scheduler will run (`99 * * * *` is refused here, not at the first tick).
ajv.addFormat('cron', { type: 'string', validate: (value: string) => cron.validate(value) });
const validate = ajv.compile(schema);

/** Sections that must exist (possibly empty) so that defaults inside them are applied. */
const SECTIONS = ['fetch', 'parse', 'sink', 'bus'] as const;

function describe(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(schemaAt(error.schemaPath)?.['properties'] ?? {});
      return `unknown field "${String(p['additionalProperty'])}" (allowed: ${allowed.join(', ')})`;
    }
    case 'required':
      return `missing field "${String(p['missingProperty'])}"`;
    case 'format':
      return p['format'] === 'cron' ? 'not a valid cron expression (node-cron: minute hour day-of-month month day-of-week, optional seconds first)' : error.message ?? 'wrong format';
    case 'enum':
      return `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return error.message ?? error.keyword;
  }
}

/** The schema object that holds a failing keyword, from Ajv's `#/properties/x/...` pointer. */
function schemaAt(schemaPath: string): Record<string, Record<string, unknown>> | undefined {
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  let node: unknown = schema;
  for (const part of parts) node = (node as Record<string, unknown> | undefined)?.[part];
  return node as Record<string, Record<string, unknown>> | undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates an already-parsed document; `file` is only used in error messages. */
export function pipelineFromObject(document: unknown, file: string): Pipeline {
  if (!document || typeof document !== 'object' || Array.isArray(document)) {
    throw new PipelineError(file, '', 'expected a mapping with at least `version` and `name`');
  }
  const copy = structuredClone(document) as Record<string, unknown>;
  for (const section of SECTIONS) {
    if (copy[section] === undefined || copy[section] === null) copy[section] = {};
  }
  if (!validate(copy)) {
    const [first, ...rest] = validate.errors ?? [];
    if (!first) throw new PipelineError(file, '', 'invalid');
    const error = new PipelineError(file, first.instancePath, describe(first));
    if (rest.length > 0) {
      error.message += `; and ${rest.length} more: ${rest.map((e) => `${e.instancePath || '/'}: ${describe(e)}`).join('; ')}`;
    }
    throw error;
  }
  const [problem] = checkDataTypes(copy['fetch'] as Pipeline['fetch']);
  if (problem) throw new PipelineError(file, problem[0], problem[1]);
  return deepFreeze(copy as unknown as Pipeline);
}

export function parsePipeline(text: string, file: string): Pipeline {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = yamlError.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : '';
    throw new PipelineError(file, where, `not valid YAML: ${yamlError.message.split(' at line')[0]}`);
  }
  return pipelineFromObject(doc.toJS(), file);
}

export function loadPipeline(file: string): Pipeline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read pipeline file: ${(cause as Error).message}`, file, { cause });
  }
  return parsePipeline(text, file);
}

/** The built-in default pipeline (pipelines/default.yaml). */
export const DEFAULT_PIPELINE_FILE = fileURLToPath(new URL('../../pipelines/default.yaml', import.meta.url));
