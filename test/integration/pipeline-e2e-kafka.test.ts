import { kafkaBrokers } from '../helpers/kafka.ts';
import { pipelineE2E } from './pipeline-e2e.ts';

pipelineE2E('kafka', () => kafkaBrokers());
