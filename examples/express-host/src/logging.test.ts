import { Writable } from 'node:stream';
import { createStewardClient } from '@steward/transport-ws/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from './host.ts';
import { createHostLogger, maskUrl } from './logging.ts';

const lines: Record<string, unknown>[] = [];
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
      lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});
let host: ExpressHost;

beforeAll(async () => {
  host = await startExpressHost({
    chunkDelayMs: 0,
    demoDesk: false,
    logger: createHostLogger({ destination }),
  });
});
afterAll(async () => {
  await host.stop();
});

describe('the Express host’s logs', () => {
  it('logs each request without its credentials, and each run milestone with the run’s ids', async () => {
    const token = await host.userToken('alice');
    const client = createStewardClient({ url: host.url, token });
    const { runId, sessionId } = await client.respond('Hello there');
    for await (const event of client.stream(runId)) if (event.type === 'final') break;

    await expect
      .poll(() => lines.some((line) => line.msg === 'run_finished' && line.run_id === runId))
      .toBe(true);
    const ofRun = lines.filter((line) => line.run_id === runId);
    expect(ofRun.map((line) => line.msg)).toEqual(expect.arrayContaining(['run_started', 'run_finished']));
    for (const line of ofRun) expect(line).toMatchObject({ session_id: sessionId, user_id: 'alice' });

    const respond = lines.find(
      (line) => line.msg === 'request_finished' && (line.req as { url?: string }).url === '/api/v1/respond',
    );
    expect(respond).toMatchObject({ req: { method: 'POST', headers: { authorization: '[redacted]' } } });
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('masks credentials in logged URLs', () => {
    expect(maskUrl('/ws?run_id=r1&token=abc')).toBe('/ws?run_id=r1&token=%5Bredacted%5D');
    expect(maskUrl('/auth/callback?code=c&state=s')).toBe(
      '/auth/callback?code=%5Bredacted%5D&state=%5Bredacted%5D',
    );
  });
});
