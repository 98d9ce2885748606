import type { Scenario } from '../harness';
export const memory: Scenario = { name: 'memory', title: 'memory', async run() { throw new Error('todo'); } };
