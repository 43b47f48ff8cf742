import { describe, expect, it } from 'vitest';
import { allModuleNames } from '../../src/io/peft.ts';
import { compileTargetRegex, TargetRegexError } from '../../src/io/target-regex.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';

const model: LlamaConfig = {
  dim: 16, hiddenDim: 24, nLayers: 12, nHeads: 4, nKvHeads: 2, vocabSize: 11, maxSeqLen: 9,
  normEps: 1e-6, ropeTheta: 10000, tiedEmbeddings: true, bosId: 1, eosId: 2,
};
const names = allModuleNames(model); // 84: model.layers.{0..11}.{self_attn.{q,k,v,o}|mlp.{gate,up,down}}_proj
const matched = (pattern: string): string[] => names.filter(compileTargetRegex(pattern));

/** What Python's re.fullmatch selects, via a JS RegExp (same semantics for these backtracking-safe patterns). */
const byRegExp = (pattern: string): string[] => names.filter((n) => new RegExp(`^(?:${pattern})$`, 'u').test(n));

describe('target_modules regex (re.fullmatch) without backtracking', () => {
  it('selects exactly what a backtracking engine selects, for the patterns peft users write', () => {
    const patterns = [
      '.*\\.(q|v)_proj', '.*(q_proj|v_proj)$', 'model\\.layers\\.\\d+\\.self_attn\\.(q|k|v|o)_proj', '.*mlp.*',
      '^model\\.layers\\.[0-5]\\..*_proj$', 'model\\.layers\\.(1[01]|[2-4])\\.mlp\\.(gate|up)_proj', '.*\\.(?P<m>q|k)_proj',
      '.*layers\\.\\d{1,2}\\.self_attn\\.[^qk]_proj', '.*\\.[qkvo]_proj', '(?:model\\.)?layers\\.0\\..*', 'q_proj', '.*_proj',
      '.*\\.(down|up)_proj+?', 'model.layers.1.*v_proj', '.*self_attn\\.\\w_proj', '.*\\d\\.mlp\\.down_proj', '\\Amodel.*o_proj\\Z',
      '.*[.]q_proj', '.*(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q|r|s|t|u|v|w|x|y|z)_proj', '.{3,}_proj', 'model\\.layers\\.\\d{2,}\\..*',
    ];
    for (const p of patterns) expect(matched(p), p).toEqual(byRegExp(p.replace('(?P<', '(?<').replace('\\A', '^').replace('\\Z', '$')));
    expect(matched('.*\\.(q|v)_proj')).toHaveLength(24);
    expect(matched('model\\.layers\\.\\d+\\.self_attn\\.(q|k|v|o)_proj')).toHaveLength(48);
    expect(matched('model\\.layers\\.\\d{2,}\\..*')).toEqual(names.filter((n) => /layers\.1[01]\./.test(n)));
  });

  it('evil patterns that freeze a backtracking engine return at once with the right answer', () => {
    // `(.*.*)*X` takes over a minute on a 22-character name with a JS RegExp; here every name is one pass.
    expect(matched('(a+)+$')).toEqual([]);
    expect(matched('(.*.*)*X')).toEqual([]);
    expect(matched('([a-z._0-9]+)+X')).toEqual([]);
    expect(matched('(\\w|\\.)*q_proj')).toHaveLength(12);
    expect(matched('(.*)*_proj')).toHaveLength(84);
    expect(matched('(.*a){12}')).toEqual([]); // "a" appears at most 3 times in a name
    expect(matched('(x+x+)+y')).toEqual([]);
  });

  it('refuses what a set of states cannot match, saying what and where', () => {
    const refused: [string, string][] = [
      ['.*(?=q_proj)', 'a lookahead (at position 2) cannot be matched without backtracking'],
      ['.*(?<!mlp)\\.q_proj', 'a lookbehind (at position 2) cannot be matched without backtracking'],
      ['(q)\\1_proj', 'a backreference (at position 3) cannot be matched without backtracking'],
      ['(?P<m>q).*(?P=m)', 'a backreference (at position 10) cannot be matched without backtracking'],
      ['(?i).*Q_PROJ', 'the group "(?i)" (inline flags, comments or a conditional) (at position 0) cannot be matched without backtracking'],
      ['.*\\bq_proj', 'a word boundary (at position 2) cannot be matched without backtracking'],
      ['.*q_proj*+', 'a possessive quantifier (at position 9) cannot be matched without backtracking'],
      ['*q_proj', 'nothing to repeat at position 0'],
      ['.**', 'multiple repeat at position 3'],
      ['(q|v', 'missing ), unterminated subpattern'],
      ['q)', 'unbalanced parenthesis at position 1'],
      ['[qv_proj', 'unterminated character set'],
      ['.*\\q', 'bad escape \\q'],
      ['.{5,2}', 'min repeat greater than max repeat in {5,2}'],
      ['(.*){1000}', 'the repeat count in {1000} is more than 100'],
      ['(model\\.layers\\.\\d+\\.self_attn\\.(q|k|v|o)_proj){90}', 'it compiles to more than 2000 states (long counted repetitions?)'],
      ['a'.repeat(501), 'it is 501 characters long, more than 500'],
    ];
    for (const [p, why] of refused) {
      let err: unknown;
      try {
        compileTargetRegex(p);
      } catch (e) {
        err = e;
      }
      expect(err, p).toBeInstanceOf(TargetRegexError);
      expect((err as Error).message, p).toBe(why);
    }
  });
});
