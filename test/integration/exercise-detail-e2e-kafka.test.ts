import { kafkaBrokers } from '../helpers/kafka.ts';
import { exerciseDetailE2E } from './exercise-detail-e2e.ts';

exerciseDetailE2E('kafka', () => kafkaBrokers(), { channel: 'transactional' });
