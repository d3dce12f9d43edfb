import { jwks } from '../../../server/tokens.ts';

// Read at request time: the key is made when the server starts, not when it is built.
export const dynamic = 'force-dynamic';

/** The public key of this host's tokens: the orchestrator's STEWARD_JWKS_URL points here. */
export async function GET(): Promise<Response> {
  return Response.json(await jwks(), { headers: { 'cache-control': 'public, max-age=60' } });
}
