import { pipelineE2E } from './pipeline-e2e.ts';

pipelineE2E('embedded', () => null);
