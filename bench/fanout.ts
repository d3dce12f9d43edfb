// WebSocket fan-out of `npm run bench`: many concurrent sessions, each streaming a reply from the
// mock model through one Steward server process, against the in-process `run()` iterator doing
// the same in the same run. Time to first token and token gaps per session; memory per session.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Assistant } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';

const secret = 'bench-secret-that-is-at-least-32-bytes!';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface SessionTimes {
  firstTokenMs: number;
  gaps: number[];
  tokens: number;
}

function summarise(sessions: SessionTimes[], tokens: number) {
  const ttft = sessions.map((session) => session.firstTokenMs);
  const gaps = sessions.flatMap((session) => session.gaps);
  const complete = sessions.filter((session) => session.tokens === tokens).length;
  return {
    complete,
    ttft_p50_ms: round(percentile(ttft, 50)),
    ttft_p99_ms: round(percentile(ttft, 99)),
    gap_p50_ms: round(percentile(gaps, 50), 3),
    gap_p99_ms: round(percentile(gaps, 99), 3),
  };
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

async function startProcess(script: string, env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      ...(process.env.BENCH_PROFILE === script ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      new URL(script, import.meta.url).pathname,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  return { child, url };
}

/** One session over the wire: respond, open the socket, read to `final`. */
async function wireSession(url: string, userId: string, prompt: string): Promise<SessionTimes> {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
  const started = performance.now();
  const response = await fetch(`${url}/api/v1/respond`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: prompt }),
  });
  if (response.status !== 202)
    throw new Error(`respond answered ${response.status}: ${await response.text()}`);
  const { run_id } = (await response.json()) as { run_id: string };
  const times: SessionTimes = { firstTokenMs: Number.NaN, gaps: [], tokens: 0 };
  let last = 0;
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?run_id=${run_id}&token=${token}`);
    ws.on('message', (data) => {
      const event = JSON.parse(data.toString()) as { type: string };
      if (event.type !== 'token') return;
      const now = performance.now();
      if (times.tokens === 0) times.firstTokenMs = now - started;
      else times.gaps.push(now - last);
      last = now;
      times.tokens++;
    });
    ws.on('close', () => resolve());
    ws.on('error', reject);
  });
  return times;
}

/** The same session in process: `assistant.run()` and its iterator. */
async function localSession(assistant: Assistant, userId: string, prompt: string): Promise<SessionTimes> {
  const started = performance.now();
  const run = assistant.run({ input: prompt, userId });
  const times: SessionTimes = { firstTokenMs: Number.NaN, gaps: [], tokens: 0 };
  let last = 0;
  for await (const event of run) {
    if (event.type !== 'token') continue;
    const now = performance.now();
    if (times.tokens === 0) times.firstTokenMs = now - started;
    else times.gaps.push(now - last);
    last = now;
    times.tokens++;
  }
  return times;
}

/** `sessions` concurrent sessions of a `tokens`-token reply, over WebSockets and in process. */
export async function websocketFanOut(sessions: number, tokens: number, paceMs = 0) {
  const model = await startProcess('./mock-server.ts', {});
  const server = await startProcess('./fanout-server.ts', { MODEL_URL: model.url, BENCH_SECRET: secret });
  const prompt = paceMs === 0 ? `stream:${tokens}` : `stream:${tokens} pace:${paceMs}`;
  try {
    // Warm both paths (JIT, connection pools) before measuring.
    await Promise.all(
      Array.from({ length: 20 }, (_, index) => wireSession(server.url, `warm-${index}`, prompt)),
    );
    const rssBefore = Number(await (await fetch(`${server.url}/rss?gc=1`)).text());
    let rssPeak = rssBefore;
    const sampler = setInterval(async () => {
      const rss = Number(await (await fetch(`${server.url}/rss`).catch(() => undefined))?.text());
      if (rss > rssPeak) rssPeak = rss;
    }, 100);
    const wireStarted = performance.now();
    const wire = await Promise.all(
      Array.from({ length: sessions }, (_, index) => wireSession(server.url, `user-${index}`, prompt)),
    );
    const wireMs = performance.now() - wireStarted;
    clearInterval(sampler);

    const assistant = new Assistant({
      model: createOpenAIModel({ model: 'bench', baseURL: model.url, apiKey: 'bench' }),
      limits: { historyMessages: 0 },
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, index) => localSession(assistant, `warm-${index}`, prompt)),
    );
    globalThis.gc?.();
    const localBefore = process.memoryUsage().rss;
    let localPeak = localBefore;
    const localSampler = setInterval(() => {
      localPeak = Math.max(localPeak, process.memoryUsage().rss);
    }, 50);
    const localStarted = performance.now();
    const local = await Promise.all(
      Array.from({ length: sessions }, (_, index) => localSession(assistant, `user-${index}`, prompt)),
    );
    const localMs = performance.now() - localStarted;
    clearInterval(localSampler);

    const websocket = summarise(wire, tokens);
    const inProcess = summarise(local, tokens);
    const perSession = (bytes: number) => round(bytes / sessions / 1024, 1);
    return {
      sessions,
      tokens_per_session: tokens,
      pace_ms: paceMs,
      rows: [
        {
          path: 'websocket (server process)',
          ...websocket,
          wall_ms: round(wireMs),
          rss_kib_per_session: perSession(rssPeak - rssBefore),
        },
        {
          path: 'in-process run() iterator',
          ...inProcess,
          wall_ms: round(localMs),
          rss_kib_per_session: perSession(localPeak - localBefore),
        },
      ],
      ratios: {
        ttft_p50: round(websocket.ttft_p50_ms / inProcess.ttft_p50_ms, 2),
        ttft_p99: round(websocket.ttft_p99_ms / inProcess.ttft_p99_ms, 2),
        gap_p99: round(websocket.gap_p99_ms / inProcess.gap_p99_ms, 2),
      },
    };
  } finally {
    server.child.kill('SIGTERM');
    model.child.kill('SIGTERM');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await websocketFanOut(
    Number(process.env.BENCH_SESSIONS ?? 1000),
    Number(process.env.BENCH_TOKENS ?? 500),
    Number(process.env.BENCH_PACE_MS ?? 0),
  );
  console.table(result.rows);
  console.log(result.ratios);
}
