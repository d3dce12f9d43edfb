import { startIdentityProvider } from './identity-provider.ts';

// Standalone: `PORT=4000 npm start -w @steward/example-identity-provider`. Clients register
// themselves at /reg (dynamic registration); alice, bob and admin sign in with the demo password.
const idp = await startIdentityProvider({ port: Number(process.env.PORT ?? 4000) });
console.log(`Identity provider: ${idp.issuer}/.well-known/openid-configuration`);
const shutdown = () => void idp.stop().finally(() => process.exit(0));
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
