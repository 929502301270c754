/**
 * AccessLink's rate limits: two fixed windows (short, long) per partner, each starting at the
 * first request after the previous one ended. Every request counts, rejected ones included,
 * so a client that keeps hammering after a 429 burns its daily budget (as Polar warns).
 */
export interface RateLimitSnapshot {
  usage: [number, number];
  limit: [number, number];
  resetSecs: [number, number];
  exceeded: boolean;
}

export interface RateLimiterOptions {
  shortTermLimit: () => number;
  longTermLimit: () => number;
  /** @default 900_000 (15 minutes) */
  shortTermWindowMs?: number;
  /** @default 86_400_000 (24 hours) */
  longTermWindowMs?: number;
  now?: () => number;
}

class FixedWindow {
  private startMs = -Infinity;
  private used = 0;
  constructor(private readonly windowMs: number) {}

  hit(now: number): number {
    if (now >= this.startMs + this.windowMs) {
      this.startMs = now;
      this.used = 0;
    }
    return ++this.used;
  }

  resetSecs(now: number): number {
    return Math.max(0, Math.ceil((this.startMs + this.windowMs - now) / 1000));
  }
}

export function createRateLimiter(options: RateLimiterOptions): { hit(): RateLimitSnapshot } {
  const now = options.now ?? Date.now;
  const short = new FixedWindow(options.shortTermWindowMs ?? 900_000);
  const long = new FixedWindow(options.longTermWindowMs ?? 86_400_000);
  return {
    hit() {
      const t = now();
      const usage: [number, number] = [short.hit(t), long.hit(t)];
      const limit: [number, number] = [options.shortTermLimit(), options.longTermLimit()];
      return {
        usage,
        limit,
        resetSecs: [short.resetSecs(t), long.resetSecs(t)],
        exceeded: usage[0] > limit[0] || usage[1] > limit[1],
      };
    },
  };
}

export function rateLimitHeaders(s: RateLimitSnapshot): Record<string, string> {
  return {
    'RateLimit-Usage': `${s.usage[0]}, ${s.usage[1]}`,
    'RateLimit-Limit': `${s.limit[0]}, ${s.limit[1]}`,
    'RateLimit-Reset': `${s.resetSecs[0]}, ${s.resetSecs[1]}`,
  };
}
