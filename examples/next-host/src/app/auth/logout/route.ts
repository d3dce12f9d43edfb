import { NextResponse } from 'next/server';
import { hostConfig } from '../../../server/config.ts';
import { signOut } from '../../../server/session.ts';

/** Ends the session (a POST from the page's form: a link elsewhere cannot sign anyone out). */
export async function POST(): Promise<Response> {
  await signOut();
  return NextResponse.redirect(`${hostConfig().appUrl}/login`, 303);
}
