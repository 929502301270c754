/**
 * Table schemas: the single source of truth for the lake's columns (schemas/tables/*.json).
 * The writer builds its DuckDB types from them, docs/tables.md is generated from them, and
 * tests hold src/records/rows.ts to them. Each file is validated against
 * schemas/table.schema.json when loaded; a file that does not validate is a config error.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { PolarLakeError } from '../errors.ts';
import type { TableName } from '../records/rows.ts';
import { DATE_BASED_TABLES } from '../records/rows-date-based.ts';

export type ColumnType = 'VARCHAR' | 'BOOLEAN' | 'SMALLINT' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'DATE' | 'TIMESTAMPTZ';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly unit: string | null;
  readonly description: string;
  /** Row field the value comes from (TIMESTAMPTZ columns read epoch microseconds). */
  readonly field?: string;
  /** Computed by the sink: `source_id`, `source_row` or `local_date:<timestamp column>`. */
  readonly derive?: string;
}

export interface PartitionSpec {
  readonly name: string;
  readonly type: 'INTEGER' | 'VARCHAR';
  /** DuckDB expression over the table's columns. */
  readonly expr: string;
  readonly description: string;
}

export interface TableSchema {
  readonly name: TableName;
  readonly version: number;
  readonly description: string;
  readonly natural_key: readonly string[];
  readonly partition_by: readonly PartitionSpec[];
  readonly sort_by: readonly string[];
  readonly columns: readonly ColumnSpec[];
}

export const TABLE_NAMES: readonly TableName[] = [
  'samples', 'laps', 'exercises', 'daily_activity', 'sleep', 'exercise_series', 'rr_intervals', 'hr_zones', 'routes', 'source_files', ...DATE_BASED_TABLES,
  'activity_step_samples', 'activity_zone_samples', 'activity_inactivity_stamps', 'physical_info',
];

/** A schema file is missing or does not validate: the code cannot know the table. */
export class SchemaError extends PolarLakeError {
  readonly code = 'PL_SCHEMA_INVALID';
  readonly kind = 'config';
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas', import.meta.url));

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS_DIR, 'table.schema.json'), 'utf8')) as object);
const cache = new Map<string, TableSchema>();

/** Versions present on disk for a table, ascending. */
export function schemaVersions(table: TableName, dir = SCHEMAS_DIR): number[] {
  const re = new RegExp(`^${table}\\.v(\\d+)\\.json$`);
  return readdirSync(join(dir, 'tables'))
    .map((f) => re.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Loads and validates one table schema; the newest version when `version` is omitted. */
export function loadTableSchema(table: TableName, version?: number, dir = SCHEMAS_DIR): TableSchema {
  const v = version ?? schemaVersions(table, dir).at(-1);
  const file = join(dir, 'tables', `${table}.v${v ?? '?'}.json`);
  const hit = cache.get(file);
  if (hit) return hit;
  if (v === undefined) throw new SchemaError('no schema file for this table', file);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new SchemaError(`cannot read: ${(cause as Error).message}`, file, { cause });
  }
  if (!validate(doc)) {
    const first = validate.errors?.[0];
    throw new SchemaError(`${first?.instancePath || '/'} ${first?.message ?? 'invalid'}`, file);
  }
  const schema = doc as TableSchema;
  if (schema.name !== table || schema.version !== v) throw new SchemaError(`name/version inside (${schema.name} v${schema.version}) do not match the file name`, file);
  const names = new Set(schema.columns.map((c) => c.name));
  for (const key of [...schema.natural_key, ...schema.sort_by]) {
    if (!names.has(key)) throw new SchemaError(`natural_key/sort_by names unknown column "${key}"`, file);
  }
  cache.set(file, Object.freeze(schema));
  return schema;
}

export function loadAllTableSchemas(dir = SCHEMAS_DIR): TableSchema[] {
  return TABLE_NAMES.map((t) => loadTableSchema(t, undefined, dir));
}

/** Columns read from row fields, in schema order. */
export function fieldColumns(schema: TableSchema): ColumnSpec[] {
  return schema.columns.filter((c) => c.field !== undefined);
}

/** `name TYPE [NOT NULL], ...` for CREATE TABLE. */
export function duckdbColumnsSql(schema: TableSchema): string {
  return schema.columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.nullable ? '' : ' NOT NULL'}`).join(', ');
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
