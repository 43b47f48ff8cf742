/** Assertions on the ModelFileError a reader throws for a bad model, config, tokenizer or adapter file. */
import { expect } from 'vitest';
import { ModelFileError, type ModelFileErrorCode } from '../../src/io/errors.ts';

/**
 * Check that `err` is a ModelFileError with `code`; when `file` is given, that it names `file` (both `e.file`
 * and the `${file}: ` message prefix); and that the message contains every one of `mentions`.
 */
function checkFileError(err: unknown, code: ModelFileErrorCode, file: string | undefined, mentions: string[]): ModelFileError {
  expect(err).toBeInstanceOf(ModelFileError);
  const e = err as ModelFileError;
  expect(e.code).toBe(code);
  if (file !== undefined) {
    expect(e.file).toBe(file);
    expect(e.message.startsWith(`${file}: `)).toBe(true);
  }
  for (const s of mentions) expect(e.message).toContain(s);
  return e;
}

/** `fn()` throws a ModelFileError with `code` (naming `file` and mentioning each of `mentions`, when given); returns it. */
export function expectFileError(fn: () => unknown, code: ModelFileErrorCode, file?: string, ...mentions: string[]): ModelFileError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  return checkFileError(err, code, file, mentions);
}

/** `p` rejects with a ModelFileError with `code` (naming `file` and mentioning each of `mentions`, when given); resolves to it. */
export async function expectFileErrorAsync(p: Promise<unknown>, code: ModelFileErrorCode, file?: string, ...mentions: string[]): Promise<ModelFileError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return checkFileError(err, code, file, mentions);
}
