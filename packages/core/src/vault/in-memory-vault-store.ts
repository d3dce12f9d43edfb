import type { VaultRecord, VaultRecordRef, VaultRecordSummary, VaultStore } from './vault-store.ts';

const keyOf = (ref: VaultRecordRef) => JSON.stringify([ref.owner, ref.kind, ref.name]);

const compareRefs = (a: VaultRecordRef, b: VaultRecordRef): number => {
  for (const field of ['owner', 'kind', 'name'] as const) {
    if (a[field] !== b[field]) return a[field] < b[field] ? -1 : 1;
  }
  return 0;
};

const summaryOf = ({ owner, kind, name, createdAt, updatedAt }: VaultRecord): VaultRecordSummary => ({
  owner,
  kind,
  name,
  createdAt,
  updatedAt,
});

/**
 * Keeps the vault's encrypted records in process memory: the default store, for tests, demos
 * and one process. Records are frozen copies, so nothing a caller holds changes what is stored.
 */
export function createInMemoryVaultStore(): VaultStore {
  const records = new Map<string, VaultRecord>();
  const sorted = () => [...records.values()].sort(compareRefs);

  return {
    async put(record) {
      const existing = records.get(keyOf(record));
      records.set(
        keyOf(record),
        Object.freeze({ ...record, createdAt: existing?.createdAt ?? record.createdAt }),
      );
    },
    async get(ref) {
      const record = records.get(keyOf(ref));
      return record === undefined ? undefined : { ...record };
    },
    async delete(ref) {
      return records.delete(keyOf(ref));
    },
    async list({ owner, kind }) {
      return sorted()
        .filter((record) => record.owner === owner && record.kind === kind)
        .map(summaryOf);
    },
    async deleteOwner(owner) {
      let deleted = 0;
      for (const [key, record] of records) {
        if (record.owner === owner && records.delete(key)) deleted += 1;
      }
      return deleted;
    },
    async listForRotation(keyId, { after, limit }) {
      return sorted()
        .filter((record) => record.keyId !== keyId && (after === undefined || compareRefs(record, after) > 0))
        .slice(0, limit)
        .map((record) => ({ ...record }));
    },
    async replaceWrappedKey(ref, expectedWrappedKey, next) {
      const record = records.get(keyOf(ref));
      if (record?.wrappedKey !== expectedWrappedKey) return false;
      records.set(keyOf(ref), Object.freeze({ ...record, keyId: next.keyId, wrappedKey: next.wrappedKey }));
      return true;
    },
  };
}
