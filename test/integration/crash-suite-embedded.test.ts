import { describe } from 'vitest';
import { crashSuiteTest } from './crash-suite.ts';

describe('crash suite > embedded bus', () => crashSuiteTest('embedded'));
