import express, { type Request, type RequestHandler, type Response } from 'express';
import { messagePage } from './views.ts';

const wantsJson = (request: Request) => request.accepts(['html', 'json']) === 'json';

/** Why a form request was refused, in the JSON body's `error.code` (the page's script reads it). */
export type FormErrorCode =
  | 'invalid_request'
  | 'invalid_csrf_token'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'not_found'
  | 'approval_not_found'
  | 'approval_conflict'
  | 'approval_expired'
  | 'input_conflict'
  | 'session_busy'
  | 'rate_limited'
  | 'sessions_unavailable'
  | 'orchestrator_unavailable'
  | 'internal_error';

/**
 * Refuses a request with a status: `{ error: { code, message, field? } }` for the page's script,
 * a short page for a plain form.
 */
export function refuse(
  request: Request,
  response: Response,
  status: number,
  code: FormErrorCode,
  message: string,
  field?: string,
): void {
  if (wantsJson(request))
    response.status(status).json({ error: { code, message, ...(field === undefined ? {} : { field }) } });
  else response.status(status).type('html').send(messagePage('Request refused', message));
}

const urlencoded = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 20 });

/**
 * The body of a form route: `application/x-www-form-urlencoded` only, as the pages' forms and
 * script send it. Anything else with a body (JSON, text, multipart) is a 415; no body at all
 * reads as no fields, so the route answers 400 for the field it misses. Express 5 leaves
 * `request.body` undefined when nothing was parsed, which is what turned such requests into
 * 500s: after this, it is always an object.
 */
export const formBody: RequestHandler = (request, response, next) => {
  const sentBody =
    Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (sentBody && request.is('application/x-www-form-urlencoded') === false) {
    refuse(
      request,
      response,
      415,
      'unsupported_media_type',
      'Send the form as application/x-www-form-urlencoded.',
    );
    return;
  }
  urlencoded(request, response, (error?: unknown) => {
    if (error !== undefined) {
      next(error);
      return;
    }
    request.body ??= {};
    next();
  });
};

/** A form's fields: what {@link formBody} parsed (strings, or arrays of strings for a repeated name). */
export const fieldsOf = (request: Request) => request.body as Record<string, unknown>;
