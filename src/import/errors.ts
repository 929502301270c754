/**
 * What an import can find wrong with its input. Each names the path (for a zip entry
 * `archive.zip!dir/file`) and is `terminal`: the import reports it in its summary and goes
 * on with the next file; nothing already in the lake is touched.
 */
import { PolarLakeError } from '../errors.ts';

abstract class ImportInputError extends PolarLakeError {
  readonly kind = 'terminal';
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
  }
}

/** A zip (or a zip inside one) whose structure cannot be read: no central directory, bad header, CRC or size mismatch. */
export class ImportZipCorruptError extends ImportInputError {
  readonly code = 'PL_IMPORT_ZIP_CORRUPT';
}

/** A zip entry over the size, ratio or total caps, or zips nested deeper than allowed. */
export class ImportZipBombError extends ImportInputError {
  readonly code = 'PL_IMPORT_ZIP_BOMB';
}

/** A zip entry whose name is absolute or climbs out of the import with `..` (zip-slip). */
export class ImportPathEscapesError extends ImportInputError {
  readonly code = 'PL_IMPORT_PATH_ESCAPES';
}

/** A file or folder that cannot be read (permissions, a dangling link, an I/O error). */
export class ImportUnreadableError extends ImportInputError {
  readonly code = 'PL_IMPORT_UNREADABLE';
}

/** A symbolic link that leads back into a folder already being walked, or to itself. */
export class ImportSymlinkLoopError extends ImportInputError {
  readonly code = 'PL_IMPORT_SYMLINK_LOOP';
}

/** A file that is none of the formats the import reads (by its bytes, then its name). */
export class ImportUnsupportedFileError extends ImportInputError {
  readonly code = 'PL_IMPORT_UNSUPPORTED_FILE';
}
