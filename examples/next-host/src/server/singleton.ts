const store = Symbol.for('steward.next-host');

type Slots = Map<string, unknown>;

/**
 * One value per process. Next bundles route handlers and server components separately, so a
 * module-level variable can exist more than once in one server; these live on `globalThis`.
 */
export function processSingleton<T>(name: string, create: () => T): T {
  const holder = globalThis as unknown as Record<symbol, Slots | undefined>;
  holder[store] ??= new Map();
  const slots = holder[store];
  if (!slots.has(name)) slots.set(name, create());
  return slots.get(name) as T;
}
