import { createInMemoryVaultStore } from '@steward/core';
import { runVaultConformance } from './vault-conformance.ts';

runVaultConformance({ name: 'in-memory', create: () => createInMemoryVaultStore() });
