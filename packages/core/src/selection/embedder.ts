/**
 * The embedding seam: texts in, one vector per text out, all of `dimensions` length. Adapters:
 * OpenAI embeddings (storage issue) and {@link createHashEmbedder} for tests and offline use.
 */
export interface Embedder {
  readonly dimensions: number;
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
}

/** FNV-1a: a fast, stable 32-bit hash, so the same text always lands in the same buckets. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Splits identifiers and prose alike: `GMAIL_FETCH_EMAILS` and "fetch emails" share words. */
function words(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 1);
}

/**
 * A deterministic local embedder (feature hashing of words and their character trigrams, L2
 * normalized). No model, no network: good enough to rank tools by overlap with a question, and
 * the same on every machine, which is what tests and the offline demo need.
 */
export function createHashEmbedder(options: { dimensions?: number } = {}): Embedder {
  const dimensions = options.dimensions ?? 512;
  const embedOne = (text: string): number[] => {
    const vector = new Array<number>(dimensions).fill(0);
    for (const word of words(text)) {
      // Signed feature hashing: the hash picks the bucket and the sign, so collisions cancel out.
      const hash = fnv1a(word);
      vector[hash % dimensions] = (vector[hash % dimensions] ?? 0) + (hash >>> 31 === 1 ? 2 : -2);
      const padded = `^${word}$`;
      for (let index = 0; index + 3 <= padded.length; index++) {
        const gram = fnv1a(padded.slice(index, index + 3));
        vector[gram % dimensions] = (vector[gram % dimensions] ?? 0) + (gram >>> 31 === 1 ? 1 : -1);
      }
    }
    const norm = Math.hypot(...vector);
    return norm === 0 ? vector : vector.map((value) => value / norm);
  };
  return { dimensions, embed: async (texts) => texts.map(embedOne) };
}

/** Cosine similarity of two vectors of equal length (1 = same direction). */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index++) {
    const x = a[index] ?? 0;
    const y = b[index] ?? 0;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}
