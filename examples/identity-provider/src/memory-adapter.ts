import { LRUCache } from 'lru-cache';
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/** Models whose records belong to a grant, so revoking the grant removes them. */
const grantable = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

type Entry = AdapterPayload | string | Set<string>;

/**
 * oidc-provider's storage in this process's memory: one bounded LRU per provider (never shared
 * between two providers in one process, as the library's module-level default is), each record
 * expiring when the provider says. A restart forgets every session, grant and token: right for
 * a demo and for tests, and why `adapter` is an option of `startIdentityProvider`.
 */
export function createMemoryAdapter(options: { maxEntries?: number } = {}): AdapterFactory {
  const store = new LRUCache<string, Entry>({ max: options.maxEntries ?? 10_000, ttlAutopurge: false });
  const ttl = (expiresIn: number | undefined) =>
    typeof expiresIn === 'number' && expiresIn > 0 ? { ttl: expiresIn * 1000 } : {};
  const payloadAt = (key: string | undefined) => {
    const value = key === undefined ? undefined : store.get(key);
    return typeof value === 'object' && !(value instanceof Set) ? value : undefined;
  };
  const indexOf = (key: string) => {
    const value = store.get(key);
    return typeof value === 'string' ? value : undefined;
  };

  return (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        if (model === 'Session' && typeof payload.uid === 'string')
          store.set(`sessionUid:${payload.uid}`, id, ttl(expiresIn));
        if (typeof payload.userCode === 'string')
          store.set(`userCode:${payload.userCode}`, id, ttl(expiresIn));
        if (grantable.has(model) && typeof payload.grantId === 'string') {
          const grantKey = `grant:${payload.grantId}`;
          const members = store.get(grantKey);
          const set = members instanceof Set ? members : new Set<string>();
          set.add(key);
          store.set(grantKey, set);
        }
        store.set(key, payload, ttl(expiresIn));
      },
      async find(id) {
        return payloadAt(keyOf(id));
      },
      async findByUid(uid) {
        const id = indexOf(`sessionUid:${uid}`);
        return id === undefined ? undefined : payloadAt(keyOf(id));
      },
      async findByUserCode(userCode) {
        const id = indexOf(`userCode:${userCode}`);
        return id === undefined ? undefined : payloadAt(keyOf(id));
      },
      async consume(id) {
        const payload = payloadAt(keyOf(id));
        if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        store.delete(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        const grantKey = `grant:${grantId}`;
        const members = store.get(grantKey);
        if (members instanceof Set) for (const key of members) store.delete(key);
        store.delete(grantKey);
      },
    };
  };
}
