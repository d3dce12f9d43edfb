import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StewardError } from '@steward/core';

/** Where large tool results are kept, so the model gets a preview and a reference instead. */
export interface BlobStore {
  /** Stores `text` and resolves with its id. */
  put(text: string, options?: { contentType?: string }): Promise<string>;
  /** The stored text, or `undefined` for an unknown id. */
  get(id: string): Promise<string | undefined>;
}

const idPattern = /^[a-f0-9]{64}$/;

/**
 * Keeps blobs as files named by the SHA-256 of their content (the same result is stored once).
 * Ids are checked before they touch the filesystem, so a model-supplied id cannot escape the
 * directory.
 */
export function createFileBlobStore(options: { directory?: string } = {}): BlobStore {
  const directory = options.directory ?? join(tmpdir(), 'steward-blobs');
  let ready: Promise<unknown> | undefined;
  return {
    async put(text) {
      ready ??= mkdir(directory, { recursive: true }).catch((error: unknown) => {
        ready = undefined; // Try again next time instead of failing forever.
        throw error;
      });
      await ready;
      const id = createHash('sha256').update(text).digest('hex');
      try {
        // Content-addressed: an existing file already holds exactly this text; never rewrite it
        // under a reader's feet.
        await writeFile(join(directory, id), text, { encoding: 'utf8', flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      return id;
    },
    async get(id) {
      if (!idPattern.test(id)) throw new StewardError('tool_invalid_arguments', `"${id}" is not a blob id`);
      try {
        return await readFile(join(directory, id), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
  };
}
