import { RegistryError } from './errors.js';

/** One entry to be kept in content that lives under a tag and that several writers update. */
export interface TagMerge<T, E> {
  /** What is being written, for the error when writers never settle. */
  what: string;
  registry: string;
  /** The content under the tag now (an empty value when the tag does not exist yet). */
  read(): Promise<T>;
  /** The entry as `current` holds it, or undefined when it does not. */
  find(current: T): E | undefined;
  /** Writes `current` with the entry added. */
  write(current: T): Promise<void>;
}

/** Writes of one entry before giving up on writers that keep overwriting it. */
const MAX_WRITES = 16;
/**
 * Shortest wait between a write and the read that confirms it. Other writers may run on a busier machine
 * than ours (eight bundles on two cores lost an entry with 100 ms): their read-to-write is not ours.
 */
const MIN_SETTLE_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Read-modify-write of a tag that keeps the entry when others write the same tag at the same moment.
 * Registries offer no compare-and-swap on a tag, so a writer that read before our write landed can still
 * overwrite it: an entry counts as stored once a read that starts a settle time after our last write still
 * holds it, the settle time being four times the longest our own read-to-write took (another writer's write
 * lands within about that long of its read). An entry that is gone is merged into what is there by then
 * and written again, after a random wait so the writers that lost do not collide again. Nothing another
 * writer stored is dropped: every write is what was read plus the entry. Returns the entry as the
 * confirming read found it, and 'present' when it was there before anything was written.
 */
export async function mergeIntoTag<T, E>(
  merge: TagMerge<T, E>,
): Promise<{ outcome: 'present' | 'written'; entry: E }> {
  let wroteAt: number | undefined;
  let settleMs = MIN_SETTLE_MS;
  let waited = false;
  for (let written = 0; ; ) {
    const readAt = Date.now();
    const current = await merge.read();
    const entry = merge.find(current);
    if (entry !== undefined) {
      if (wroteAt === undefined) return { outcome: 'present', entry };
      const since = readAt - wroteAt;
      if (since >= settleMs) return { outcome: 'written', entry };
      await sleep(settleMs - since);
      continue;
    }
    if (wroteAt !== undefined && !waited) {
      // Lost to a writer that read before our write landed: wait, then merge into what is there by then.
      waited = true;
      await sleep(Math.random() * settleMs);
      continue;
    }
    if (written >= MAX_WRITES) {
      throw new RegistryError(
        `${merge.what} failed: other writers overwrote it ${written} times in a row; nothing of theirs was lost, but this entry is not stored. Fix: run it again once the other writers are done.`,
        { registry: merge.registry },
      );
    }
    waited = false;
    await merge.write(current);
    written++;
    wroteAt = Date.now();
    // Never shorter than for an earlier write: a registry that was slow once may be slow for others still.
    settleMs = Math.max(settleMs, 4 * (wroteAt - readAt));
  }
}
