import type { Scenario } from '../harness';
export const apiBound: Scenario = { name: 'api-bound', title: 'api-bound', async run() { throw new Error('todo'); } };
