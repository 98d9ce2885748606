import type { Scenario } from '../harness';
export const manyTenants: Scenario = { name: 'tenants', title: 'tenants', async run() { throw new Error('todo'); } };
