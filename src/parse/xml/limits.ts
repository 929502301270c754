/**
 * Limits that keep a hostile XML document from taking memory or time. The tokenizers hold
 * a whole text node, attribute value or comment in memory before reporting it, so the
 * driver counts characters between `<` signs as it feeds chunks and stops a run that grows
 * past `maxTextChars` before the tokenizer ever buffers it.
 *
 * DOCTYPE: neither tokenizer expands entities declared in a DTD, but a document that
 * declares them is hostile (billion laughs) or reaches outside the file (XXE): any DOCTYPE
 * with an internal subset `[...]` or an external id (`SYSTEM` / `PUBLIC`) is refused.
 */
export interface XmlLimits {
  /**
   * Longest text node / attribute value / comment, in decoded characters.
   * @default 4_194_304 (4 Mi)
   */
  maxTextChars?: number;
  /**
   * Deepest element nesting. TCX nests about 10 levels, GPX about 8.
   * @default 128
   */
  maxDepth?: number;
  /**
   * Largest FIT payload, in bytes: FIT is decoded from one buffer (the Garmin SDK has no
   * streaming decoder). A 24-hour 1 Hz FIT with every field is about 10 MB.
   * @default 134_217_728 (128 MiB)
   */
  maxFitBytes?: number;
}

export interface ResolvedLimits {
  maxTextChars: number;
  maxDepth: number;
  maxFitBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ResolvedLimits> = Object.freeze({
  maxTextChars: 4 * 1024 * 1024,
  maxDepth: 128,
  maxFitBytes: 128 * 1024 * 1024,
});

export function resolveLimits(limits: XmlLimits | undefined): ResolvedLimits {
  return {
    maxTextChars: limits?.maxTextChars ?? DEFAULT_LIMITS.maxTextChars,
    maxDepth: limits?.maxDepth ?? DEFAULT_LIMITS.maxDepth,
    maxFitBytes: limits?.maxFitBytes ?? DEFAULT_LIMITS.maxFitBytes,
  };
}

/** True when a DOCTYPE body (text after `<!DOCTYPE`) declares a subset or points outside. */
export function isRefusedDoctype(body: string): boolean {
  return /\[|\bSYSTEM\b|\bPUBLIC\b/i.test(body);
}
