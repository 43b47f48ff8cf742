/**
 * peft's regex target_modules (`re.fullmatch(pattern, module_name)`) matched without backtracking: the
 * pattern is compiled to a Thompson NFA and run over a set of states, so the time is linear in the name
 * and in the pattern whatever it is (`(a+)+$` or `(.*.*)*X` included; a JS RegExp freezes on those).
 * The Python syntax peft users write is accepted — literals, `.`, classes, `\d \w \s`, groups
 * (`(?:…)`, `(?P<name>…)`), `|`, `* + ? {n,m}` (lazy or not), `^ $ \A \Z` — and what a set of states
 * cannot express (backreferences, lookarounds, word boundaries, inline flags, possessive quantifiers)
 * is refused with the reason.
 */

/** Longest pattern accepted; real target_modules regexes are well under 200 characters. */
export const MAX_PATTERN_LENGTH = 500;
/** Most NFA states a pattern may compile to (counted repetitions multiply them). */
const MAX_STATES = 2000;

/** Why a pattern cannot be used; `message` reads after `regex "…" is not supported: `. */
export class TargetRegexError extends Error {}

type CharTest = (c: string) => boolean;
type Node =
  | { t: 'char'; test: CharTest }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'assert'; at: 'start' | 'end' };

type State =
  | { k: 'char'; test: CharTest; out: number }
  | { k: 'split'; outs: number[] }
  | { k: 'assert'; at: 'start' | 'end'; out: number }
  | { k: 'match' };

const DIGIT: CharTest = (c) => c >= '0' && c <= '9';
const WORD: CharTest = (c) => /^[\p{L}\p{N}_]$/u.test(c);
const SPACE: CharTest = (c) => /^\s$/.test(c);
const not = (f: CharTest): CharTest => (c) => !f(c);
const CLASS_ESCAPES: Record<string, CharTest> = { d: DIGIT, D: not(DIGIT), w: WORD, W: not(WORD), s: SPACE, S: not(SPACE) };
const CHAR_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07' };

/** Recursive-descent parser of the supported subset of Python's `re` syntax. */
class Parser {
  private i = 0;
  constructor(private readonly p: string) {}

  parse(): Node {
    const node = this.alt();
    if (this.i < this.p.length) throw new TargetRegexError(`unbalanced parenthesis at position ${this.i}`);
    return node;
  }

  private fail(what: string, at = this.i): never {
    throw new TargetRegexError(`${what} (at position ${at}) cannot be matched without backtracking`);
  }

  private alt(): Node {
    const options = [this.seq()];
    while (this.p[this.i] === '|') {
      this.i++;
      options.push(this.seq());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.p.length && this.p[this.i] !== '|' && this.p[this.i] !== ')') {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return { t: 'seq', items };
  }

  /** `atom` with the quantifier that follows it, if any. */
  private quantified(atom: Node): Node {
    const q = this.quantifier();
    if (!q) return atom;
    if (atom.t === 'assert') throw new TargetRegexError(`nothing to repeat at position ${this.i}`);
    if (this.p[this.i] === '?') this.i++; // lazy: same set of matches under fullmatch
    else if (this.p[this.i] === '+') this.fail('a possessive quantifier');
    if (this.quantifier()) throw new TargetRegexError(`multiple repeat at position ${this.i}`);
    return { t: 'rep', node: atom, ...q };
  }

  private quantifier(): { min: number; max: number } | undefined {
    const c = this.p[this.i];
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Infinity };
    }
    if (c !== '{') return undefined;
    const m = /^\{(\d*)(,(\d*))?\}/.exec(this.p.slice(this.i));
    if (!m || (m[1] === '' && m[2] === undefined)) return undefined; // Python reads it as a literal "{"
    this.i += m[0].length;
    const min = m[1] === '' ? 0 : Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (max < min) throw new TargetRegexError(`min repeat greater than max repeat in ${m[0]}`);
    if (min > 100 || (max !== Infinity && max > 100)) throw new TargetRegexError(`the repeat count in ${m[0]} is more than 100`);
    return { min, max };
  }

  private atom(): Node {
    const c = this.p[this.i]!;
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    this.i++;
    if (c === '.') return { t: 'char', test: (x) => x !== '\n' };
    if (c === '^') return { t: 'assert', at: 'start' };
    if (c === '$') return { t: 'assert', at: 'end' };
    if (c === '*' || c === '+' || c === '?') throw new TargetRegexError(`nothing to repeat at position ${this.i - 1}`);
    if (c === '\\') return this.escape();
    return { t: 'char', test: (x) => x === c };
  }

  private group(): Node {
    const rest = this.p.slice(this.i);
    if (rest.startsWith('(?:')) this.i += 3;
    else if (/^\(\?P<[A-Za-z_]\w*>/.test(rest)) this.i = this.p.indexOf('>', this.i) + 1;
    else if (/^\(\?(=|!)/.test(rest)) this.fail('a lookahead');
    else if (/^\(\?<(=|!)/.test(rest)) this.fail('a lookbehind');
    else if (rest.startsWith('(?P=') || rest.startsWith('(?(')) this.fail('a backreference');
    else if (rest.startsWith('(?')) this.fail(`the group "${rest.slice(0, 4)}" (inline flags, comments or a conditional)`);
    else this.i++;
    const inner = this.alt();
    if (this.p[this.i] !== ')') throw new TargetRegexError(`missing ), unterminated subpattern`);
    this.i++;
    return inner;
  }

  private escape(): Node {
    const at = this.i - 1; // the backslash
    const e = this.p[this.i];
    if (e === undefined) throw new TargetRegexError('bad escape (end of pattern)');
    this.i++;
    if (CLASS_ESCAPES[e]) return { t: 'char', test: CLASS_ESCAPES[e] };
    if (e === 'A') return { t: 'assert', at: 'start' };
    if (e === 'Z') return { t: 'assert', at: 'end' };
    if (e === 'b' || e === 'B') this.fail('a word boundary', at);
    if (/[0-9]/.test(e)) this.fail('a backreference', at);
    const ch = this.escapedChar(e);
    return { t: 'char', test: (x) => x === ch };
  }

  /** The character `\e` stands for outside classes' special escapes. */
  private escapedChar(e: string): string {
    if (CHAR_ESCAPES[e]) return CHAR_ESCAPES[e];
    if (/[A-Za-z0-9]/.test(e)) throw new TargetRegexError(`bad escape \\${e}`);
    return e;
  }

  private charClass(): Node {
    this.i++; // [
    const negate = this.p[this.i] === '^';
    if (negate) this.i++;
    const tests: CharTest[] = [];
    let first = true;
    while (this.p[this.i] !== ']' || first) {
      if (this.i >= this.p.length) throw new TargetRegexError('unterminated character set');
      first = false;
      let lo = this.p[this.i++]!;
      if (lo === '\\') {
        const e = this.p[this.i++];
        if (e === undefined) throw new TargetRegexError('unterminated character set');
        if (CLASS_ESCAPES[e]) {
          tests.push(CLASS_ESCAPES[e]);
          continue;
        }
        lo = this.escapedChar(e);
      }
      if (this.p[this.i] === '-' && this.p[this.i + 1] !== ']' && this.i + 1 < this.p.length) {
        this.i++;
        let hi = this.p[this.i++]!;
        if (hi === '\\') hi = this.escapedChar(this.p[this.i++] ?? '');
        if (hi < lo) throw new TargetRegexError(`bad character range ${lo}-${hi}`);
        tests.push((x) => x >= lo && x <= hi);
      } else {
        const ch = lo;
        tests.push((x) => x === ch);
      }
    }
    this.i++; // ]
    const any: CharTest = (x) => tests.some((f) => f(x));
    return { t: 'char', test: negate ? not(any) : any };
  }
}

/**
 * Thompson construction, back to front: `build(node, next)` returns the state that starts `node` then
 * goes to `next`; state 0 is the match.
 */
function compile(root: Node): { states: State[]; start: number } {
  const states: State[] = [{ k: 'match' }];
  const add = (s: State): number => {
    if (states.length >= MAX_STATES) throw new TargetRegexError(`it compiles to more than ${MAX_STATES} states (long counted repetitions?)`);
    states.push(s);
    return states.length - 1;
  };
  const build = (n: Node, next: number): number => {
    switch (n.t) {
      case 'char': return add({ k: 'char', test: n.test, out: next });
      case 'assert': return add({ k: 'assert', at: n.at, out: next });
      case 'seq': return n.items.reduceRight((acc, item) => build(item, acc), next);
      case 'alt': return add({ k: 'split', outs: n.options.map((o) => build(o, next)) });
      case 'rep': {
        let start = next;
        if (n.max === Infinity) {
          const loop = add({ k: 'split', outs: [] });
          (states[loop] as { outs: number[] }).outs = [build(n.node, loop), next];
          start = loop;
        } else {
          for (let k = n.min; k < n.max; k++) start = add({ k: 'split', outs: [build(n.node, start), next] });
        }
        for (let k = 0; k < n.min; k++) start = build(n.node, start);
        return start;
      }
    }
  };
  return { states, start: build(root, 0) };
}

/**
 * A full-match predicate for `pattern`, as Python's re.fullmatch; throws TargetRegexError when the
 * pattern is too long or uses something a set of states cannot match.
 */
export function compileTargetRegex(pattern: string): (name: string) => boolean {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new TargetRegexError(`it is ${pattern.length} characters long, more than ${MAX_PATTERN_LENGTH}`);
  const { states, start } = compile(new Parser(pattern).parse());
  return (name) => {
    const chars = [...name];
    /** Follow splits and assertions from `s` at position `pos` into `set`. */
    const close = (set: Set<number>, s: number, pos: number): void => {
      if (set.has(s)) return;
      set.add(s);
      const st = states[s]!;
      if (st.k === 'split') for (const o of st.outs) close(set, o, pos);
      else if (st.k === 'assert' && (st.at === 'start' ? pos === 0 : pos === chars.length)) close(set, st.out, pos);
    };
    let current = new Set<number>();
    close(current, start, 0);
    for (let pos = 0; pos < chars.length && current.size > 0; pos++) {
      const next = new Set<number>();
      for (const s of current) {
        const st = states[s]!;
        if (st.k === 'char' && st.test(chars[pos]!)) close(next, st.out, pos + 1);
      }
      current = next;
    }
    return current.has(0);
  };
}
