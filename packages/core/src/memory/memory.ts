/** One remembered item, retrieved for a prompt. */
export interface MemoryItem {
  readonly id: string;
  readonly text: string;
  /** Similarity, higher is closer; adapters document their scale. */
  readonly score?: number;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** What to retrieve memories for: always one user's, never across users. */
export interface MemoryQuery {
  readonly userId: string;
  readonly sessionId: string;
  readonly text: string;
  readonly limit: number;
}

/** A finished exchange, offered to the memory to keep. */
export interface MemoryEntry {
  readonly userId: string;
  readonly sessionId: string;
  readonly runId: string;
  readonly input: string;
  readonly output: string;
}

/**
 * The long-term memory seam. With no memory configured, prompts carry no memories (the no-op
 * default). Adapters (e.g. pgvector) filter every query by `userId`.
 */
export interface Memory {
  retrieve(query: MemoryQuery, options: { signal: AbortSignal }): Promise<readonly MemoryItem[]>;
  /** Optional: store what was said, after a run finishes. */
  remember?(entry: MemoryEntry, options: { signal: AbortSignal }): Promise<void>;
}
