import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mailbox } from '@steward/example-mcp-gmail';
import { describe, expect, it } from 'vitest';

function runOnce(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./main.ts', import.meta.url)), '--once'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('node src/main.ts --once', () => {
  it('reads the inbox, then sends one email only after the approval, and exits 0', async () => {
    const { code, stdout, stderr } = await runOnce();
    expect(stderr).toBe('');
    expect(code).toBe(0);

    // The answer is built from the mailbox's real data: the newest five INBOX subjects.
    const inbox = new Mailbox().fetch({ user_id: 'me', label_ids: ['INBOX'], max_results: 5 });
    for (const email of inbox.messages) expect(stdout).toContain(`"${email.subject}"`);
    expect(stdout).toContain(
      'tool_request gmail__GMAIL_FETCH_EMAILS {"user_id":"me","max_results":5,"label_ids":["INBOX"]} (read-only: runs at once)',
    );

    const steps = [
      'tool_request gmail__GMAIL_SEND_EMAIL',
      '(side effect: needs approval)',
      'approval_required gmail__GMAIL_SEND_EMAIL',
      'emails sent before approval: 0',
      'approval_resolved gmail__GMAIL_SEND_EMAIL: approved',
      'tool_result gmail__GMAIL_SEND_EMAIL',
      'Done: the email is sent',
      'emails sent after approval: 1',
      '── walkthrough done ──',
    ];
    const positions = steps.map((step) => stdout.indexOf(step));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(stdout.match(/\[final\] stop_reason=stop/g)).toHaveLength(2);
  });
});
