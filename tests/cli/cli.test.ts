import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { GOLDEN_TEXT, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('command line', () => {
  it('generate --json reproduces the golden sample from stories260K', async () => {
    const r = await cli('generate', '--model', STORIES_BIN, '--tokenizer', TOK512_BIN, '--max-tokens', '131', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ids: number[]; text: string };
    expect(out.text).toBe(GOLDEN_TEXT);
    expect(out.ids[0]).toBe(1);
    expect(out.ids.length).toBe(132);
  });

  it('generate prints the text as it goes', async () => {
    const r = await cli('generate', '--model', STORIES_BIN, '--tokenizer', TOK512_BIN, '--max-tokens', '13');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Once upon a time, there was a little girl named\n'); // 13 tokens of the golden sample
  });

  it('convert writes an HF directory that generates the same text', async () => {
    const out = path.join(work, 'hf');
    const c = await cli('convert', '--model', STORIES_BIN, '--tokenizer', TOK512_BIN, '--out', out);
    expect(c.code, c.stderr).toBe(0);
    const g = await cli('generate', '--model', out, '--max-tokens', '131', '--json');
    expect(g.code, g.stderr).toBe(0);
    expect((JSON.parse(g.stdout) as { text: string }).text).toBe(GOLDEN_TEXT);
  });

  it('explains bad usage with exit code 2', async () => {
    const missing = await cli('generate', '--tokenizer', TOK512_BIN);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--model is required');
    const bad = await cli('generate', '--model', STORIES_BIN, '--max-tokens', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-tokens must be a whole number');
    const unknown = await cli('generate', '--modle', STORIES_BIN);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/modle/);
    const cmd = await cli('fly');
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "fly"');
  });

  it('names the file when the model is broken', async () => {
    const broken = path.join(work, 'broken.bin');
    writeFileSync(broken, new Uint8Array(100).fill(7));
    const r = await cli('generate', '--model', broken, '--tokenizer', TOK512_BIN);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('broken.bin');
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
