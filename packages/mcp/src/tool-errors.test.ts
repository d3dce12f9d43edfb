import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { StewardError } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callAborted, toToolError } from './tool-errors.ts';

describe('toToolError', () => {
  it('tells a bad reply from bad arguments, whichever side of the SDK checked it', () => {
    const clientCheck = z.object({ content: z.array(z.unknown()) }).safeParse({}).error;
    expect(toToolError(clientCheck, 'mock', 'f')).toMatchObject({ code: 'tool_execution_failed' });
    const arguments_ = new McpError(ErrorCode.InvalidParams, 'Input validation error: city is required');
    expect(toToolError(arguments_, 'mock', 'f')).toMatchObject({ code: 'tool_invalid_arguments' });
  });
});

describe('callAborted', () => {
  it('keeps the caller’s reason: a stop, a timeout, or the StewardError it was given', () => {
    expect(callAborted(new Error('stop'), 'mock/f')).toMatchObject({
      code: 'run_aborted',
      message: 'mock/f was aborted: stop',
    });
    // What `AbortSignal.timeout()` aborts with.
    const timedOut = new DOMException('The operation timed out', 'TimeoutError');
    expect(callAborted(timedOut, 'mock/f')).toMatchObject({ code: 'tool_timeout' });
    const given = new StewardError('run_timeout', 'the run took too long');
    expect(callAborted(given, 'mock/f')).toBe(given);
  });
});
