import { checkStorable, type Message, messageSchema, StewardError, type StoredMessage } from '@steward/core';

/** @internal The JSON a message is stored as, after the checks every stored message passes. */
export function storableMessageJson(message: Message, maxMessageBytes: number): string {
  const checked = messageSchema.safeParse(message);
  if (!checked.success) {
    throw new StewardError('storage_error', `Invalid message: ${checked.error.message}`, {
      details: { issues: checked.error.issues },
    });
  }
  // Checked before serializing: JSON escapes NUL and lone surrogates, which jsonb then refuses.
  checkStorable(checked.data, 'message');
  const json = JSON.stringify(checked.data);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxMessageBytes) {
    throw new StewardError(
      'storage_error',
      `Message of ${bytes} bytes exceeds maxMessageBytes (${maxMessageBytes})`,
    );
  }
  return json;
}

/** @internal A `messages` row as a {@link StoredMessage}; the message is checked on the way out. */
export function toStoredMessage(row: Record<string, unknown>): StoredMessage {
  return {
    id: String(row.id),
    sessionId: row.session_id as string,
    runId: row.run_id as string,
    createdAt: new Date(row.created_at as Date | string).toISOString(),
    message: messageSchema.parse(row.message) as Message,
  };
}
