export {
  type IdentityClient,
  type IdentityProvider,
  type IdentityProviderOptions,
  type IdentityResource,
  startIdentityProvider,
} from './identity-provider.ts';
export { createMemoryAdapter } from './memory-adapter.ts';
export { demoPassword, demoUsers, type IdentityUser } from './users.ts';
