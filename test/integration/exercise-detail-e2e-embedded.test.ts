import { exerciseDetailE2E } from './exercise-detail-e2e.ts';

exerciseDetailE2E('embedded', () => null, { channel: 'transactional' });
// The listing channel with FIT files: the file compared with the API series is the FIT.
exerciseDetailE2E('embedded', () => null, { channel: 'listing', fitFiles: true });
