import { describe } from 'vitest';
import { kafkaBrokers } from '../helpers/kafka.ts';
import { crashSuiteTest } from './crash-suite.ts';

describe('crash suite > Kafka', () => crashSuiteTest('kafka', kafkaBrokers().join(',')));
