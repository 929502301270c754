import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { allOrNothingSuite } from './all-or-nothing.ts';

allOrNothingSuite('embedded', async () => new EmbeddedBus({ logger: silentLogger, retryBackoffMs: 5, maxRetryBackoffMs: 20 }));
