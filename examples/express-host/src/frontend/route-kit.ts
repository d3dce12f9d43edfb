import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { refuse } from './form-body.ts';
import type { WebSession, WebSessions } from './session.ts';
import { navigation, type PageFrame } from './views.ts';

/** @internal What every group of page routes shares. */
export interface RouteKit {
  readonly sessions: WebSessions;
  /** Lets only signed-in users through, with their session in `response.locals.session`. */
  readonly signedIn: RequestHandler;
  /** Pages that show personal data are never cached. */
  readonly noStore: RequestHandler;
  sessionOf(response: Response): WebSession;
  /** The layout's frame for a signed-in page: title, CSRF token, navigation. */
  frame(request: Request, response: Response, current: string, title: string): PageFrame;
}

export const wantsJson = (request: Request) => request.accepts(['html', 'json']) === 'json';

/** A Steward id in a URL or a form: printable ASCII, no spaces. */
export const idPattern = /^[\x21-\x7e]{1,200}$/;

/** The first problem of a failed parse: its message and the field it is about. */
export function firstIssue(
  error: z.ZodError,
  fallback: string,
): { message: string; field: string | undefined } {
  const issue = error.issues[0];
  const field = issue?.path[0];
  return { message: issue?.message ?? fallback, field: typeof field === 'string' ? field : undefined };
}

/** @internal */
export function createRouteKit(sessions: WebSessions): RouteKit {
  const sessionOf = (response: Response) => response.locals.session as WebSession;
  return {
    sessions,
    signedIn: (request, response, next) => {
      const session = sessions.read(request);
      if (session !== undefined) {
        response.locals.session = session;
        next();
      } else if (wantsJson(request)) refuse(request, response, 401, 'unauthorized', 'Sign in first');
      else response.redirect(303, '/login');
    },
    noStore: (_request, response, next) => {
      response.setHeader('cache-control', 'no-store');
      next();
    },
    sessionOf,
    frame: (request, response, current, title) => {
      const session = sessionOf(response);
      return { title, csrf: sessions.csrfToken(request, response), nav: navigation(current, session) };
    },
  };
}
