import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-data-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
const good = path.join(work, 'good.txt');
writeFileSync(good, Array.from({ length: 10 }, () => 'Lily saw a big dog. She ran to the park.').join('\n\n'));

/** Lines of the CLI's stderr (npm's own warnings dropped). */
const errLines = (stderr: string): string[] => stderr.split('\n').filter((l) => !l.startsWith('npm warn'));

describe('cli train: data files', () => {
  it('--data that is not UTF-8 is refused with the offset of the first invalid byte, exit code 1', async () => {
    const notes = path.join(work, 'notes.txt');
    writeFileSync(notes, Buffer.concat([Buffer.from('line one\nline two, café\n'), Buffer.from([0xff]), Buffer.from(' more\n')]));
    const r = await cli('train', ...base, '--data', notes, '--steps', '1', '--out', path.join(work, 'notes'));
    expect(r.code).toBe(1);
    expect(errLines(r.stderr)).toEqual(['error: notes.txt is not UTF-8 text: invalid byte 0xFF at offset 25 (line 3)', '']);
  });

  it('--probe saved as UTF-16 is refused with the advice to save it as UTF-8', async () => {
    const probe = path.join(work, 'probe.txt');
    writeFileSync(probe, Buffer.from('\ufeffOnce upon a time.', 'utf16le'));
    const r = await cli('train', ...base, '--data', good, '--probe', probe, '--steps', '1', '--out', path.join(work, 'probe'));
    expect(r.code).toBe(1);
    expect(errLines(r.stderr).at(-2)).toBe(
      'error: probe.txt looks like UTF-16 text (little-endian, byte-order mark 0xFF 0xFE), not UTF-8: save it as UTF-8 and load it again',
    );
  });

  it('a JSONL file with several bad lines lists every one', async () => {
    const bad = path.join(work, 'bad.jsonl');
    writeFileSync(bad, ['{"text": "fine"}', '{"text": 3}', '{"prompt": "a"}', '{"text": "also fine"}', '{"txt": "x"}'].join('\n'));
    const r = await cli('train', ...base, '--data', bad, '--steps', '1', '--out', path.join(work, 'bad'));
    expect(r.code).toBe(1);
    expect(errLines(r.stderr)).toEqual([
      'error: bad.jsonl has 3 bad lines:',
      'line 2: field "text" must be a string, got number',
      'line 3: missing field "completion"',
      'line 5: missing field "text" (or "prompt" and "completion")',
      '',
    ]);
  });

  it('a record of megabytes is truncated with its line and what was dropped; the warnings say how many were left out', async () => {
    const long = path.join(work, 'long.jsonl');
    const huge = 'Lily ran to the park. '.repeat(250_000); // 5.5 MB in one record
    const records = [huge, ...Array.from({ length: 7 }, (_, i) => `Story ${i}: ${'the cat sat on the mat and '.repeat(8)}`)];
    writeFileSync(long, records.map((text) => JSON.stringify({ text })).join('\n'));
    const r = await cli('train', ...base, '--data', long, '--steps', '1', '--batch', '1', '--seq', '16', '--out', path.join(work, 'long'));
    expect(r.code, r.stderr).toBe(0);
    const warnings = errLines(r.stderr).filter((l) => l.startsWith('warning: '));
    expect(warnings[0]).toBe(
      `warning: ${long}:1: record of ${huge.length} characters truncated to one window (17 tokens): only its first 648 characters were tokenised, the other ${huge.length - 648} dropped`,
    );
    expect(warnings[1]).toMatch(new RegExp(`^warning: ${long}:2: record of \\d+ tokens truncated to one window \\(17 tokens\\)$`));
    expect(warnings.slice(5)).toEqual(['warning: … and 3 more warnings (8 truncated in all)']);
  });
});
