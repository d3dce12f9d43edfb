import { createInMemoryStorage } from '@steward/core';
import { runStorageConformance } from './storage-conformance.ts';

runStorageConformance({ name: 'in-memory', create: () => createInMemoryStorage() });
