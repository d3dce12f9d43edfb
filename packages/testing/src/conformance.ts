export { runStorageConformance, type StorageConformanceOptions } from './conformance/storage-conformance.ts';
export { runVaultConformance, type VaultConformanceOptions } from './conformance/vault-conformance.ts';
