/** Paths of the shared stories260K fixture (never copied into the project). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../shared/fixtures/stories260K/', import.meta.url));
export const STORIES_BIN = `${FIXTURE_DIR}stories260K.bin`;
export const TOK512_BIN = `${FIXTURE_DIR}tok512.bin`;

export function readFixture(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** The published greedy sample of stories260K (fixture README), and its first 20 ids. */
export const GOLDEN_TEXT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n' +
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."';
export const GOLDEN_IDS_20 = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267];

/**
 * Whether `generate --json` printed stories260K's own greedy continuation of BOS: with the base
 * weights greedy decoding is deterministic, so its text is a prefix of the published GOLDEN_TEXT
 * (what tests compare an adapted or merged model against, instead of generating from the base again).
 */
export function isBaseGreedy(stdout: string): boolean {
  const { ids, text } = JSON.parse(stdout) as { ids: number[]; text: string };
  return ids[0] === 1 && text.length > 0 && GOLDEN_TEXT.startsWith(text);
}
