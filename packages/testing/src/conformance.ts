export { runStorageConformance, type StorageConformanceOptions } from './conformance/storage-conformance.ts';
