/**
 * The generated corpus, the demo datasets and the BPE tokenizer builder: determinism, fact
 * consistency, JSONL validity, and tokenizer.bin agreement with Llama2cTokenizer.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/corpus/rng.ts';
import { buildWorld, extendWorld, PEOPLE, PET_NAMES, PLACES, LANDMARKS, ANIMALS, type World } from '../../src/corpus/world.ts';
import { corpusStats, generateCorpus } from '../../src/corpus/generate.ts';
import { worldFacts, factSentences, FACT_TEMPLATES } from '../../src/corpus/facts.ts';
import { article } from '../../src/corpus/grammar.ts';
import {
  buildDemos, forgetProbeDemo, keyValueDemo, newEntities, newFactsDemo, newStyleDemo, type DemoDataset,
} from '../../src/corpus/demos.ts';
import { charsPerToken, encodeWithDropout, FIRST_LEARNED_ID, tokenizerBin, trainBpe } from '../../src/corpus/bpe.ts';
import { HfTokenizer } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import { prepareData } from '../../src/train/data.ts';

const world = buildWorld();
const corpus = generateCorpus({ documents: 5000 });
const text = (d: DemoDataset): string[] =>
  d.jsonl.trim().split('\n').map((l) => {
    const r = JSON.parse(l) as { text?: string; prompt?: string; completion?: string };
    return r.text ?? `${r.prompt}${r.completion}`;
  });

describe('rng', () => {
  it('gives the same integers on every machine (golden values for seed 1)', () => {
    const r = new Rng(1);
    expect([r.u32(), r.u32(), r.u32()]).toEqual([1828152527, 3394835397, 2967886022]);
  });

  it('int, range and sample stay in bounds and sample is distinct', () => {
    const r = new Rng(9);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      expect(k >= 0 && k < 7).toBe(true);
      const x = r.range(5, 12);
      expect(x >= 5 && x <= 12).toBe(true);
    }
    expect(new Set(r.sample([1, 2, 3, 4, 5, 6], 6)).size).toBe(6);
  });
});

describe('world and corpus', () => {
  it('is deterministic: same seed → identical corpus, other seeds differ', () => {
    expect(generateCorpus({ seed: 1, documents: 2 })).toEqual([
      'This is a story about Owen and his pony, Pebble. Owen fed Pebble. Owen felt excited. In the evening, Owen went home to the quiet meadow.',
      "Let me tell you about Mira. Mira's best friend is Theo. Mira lives in the snowy hills. Ziggy is Mira's parrot. Mira loves the colour black. Mira is a 5-year-old girl.",
    ]);
    const a = generateCorpus({ seed: 5, documents: 300 });
    expect(generateCorpus({ seed: 5, documents: 300 })).toEqual(a);
    const b = generateCorpus({ seed: 6, documents: 300 });
    const same = a.filter((d, i) => d === b[i]).length;
    expect(same).toBeLessThan(30); // short place descriptions can coincide by chance
    // a longer corpus extends a shorter one
    expect(generateCorpus({ seed: 5, documents: 100 })).toEqual(a.slice(0, 100));
    expect(buildWorld()).toEqual(world);
    expect(buildWorld(7)).not.toEqual(world);
  });

  it('builds a consistent world: unique names, pets and species; symmetric best friends; distinct door places', () => {
    const cs = world.characters;
    expect(new Set(cs.map((c) => c.name)).size).toBe(cs.length);
    expect(new Set(cs.map((c) => c.pet.name)).size).toBe(cs.length);
    expect(new Set(cs.map((c) => c.pet.species)).size).toBe(cs.length);
    for (const c of cs) {
      const f = cs.find((x) => x.name === c.friend)!;
      expect(f.friend).toBe(c.name);
      expect(world.places.some((p) => p.name === c.home)).toBe(true);
    }
    expect(new Set(world.doors.map((d) => d.place)).size).toBe(world.doors.length);
  });

  it('documents are grammatical by construction: capitals, articles, no unfilled slots', () => {
    for (const d of corpus) {
      expect(d).not.toMatch(/[{}]|\s\s|^\s|\s$/);
      expect(d).toMatch(/^[A-Z"]/);
      expect(d).toMatch(/[.!?]$/);
      // after a sentence end, the next sentence starts with a capital or a quote
      expect(d).not.toMatch(/[.!?] [a-z]/);
      // a/an agreement ("an owl", "an 8-year-old", "a 10-year-old")
      for (const m of d.matchAll(/\b(a|an) ([a-z0-9]+)/gi)) expect(m[1]!.toLowerCase()).toBe(article(m[2]!));
    }
  });

  it('stories and descriptions have 3–8 sentences outside quotes (descriptions up to 6)', () => {
    for (const d of corpus.slice(0, 1000)) {
      const n = (d.replace(/"[^"]*"/g, '"q"').match(/[.!?](?= |$)/g) ?? []).length;
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(8);
    }
  });

  it('reports corpus stats', () => {
    const s = corpusStats(corpus);
    expect(s.documents).toBe(5000);
    expect(s.chars).toBe(corpus.reduce((a, d) => a + d.length, 0));
    expect(s.distinctWords).toBeGreaterThan(200); // a small language...
    expect(s.distinctWords).toBeLessThan(600); // ...that a tiny model can learn
    expect(s.meanDocChars).toBeGreaterThan(120);
    expect(s.maxDocChars).toBeLessThan(600); // fits a 256-token context at ≥ 2.4 chars/token
    // digits, hyphen and colon are in the base alphabet (the key/value demo needs them)
    for (const ch of '0123456789-:abcdef') expect(s.alphabet).toContain(ch);
    console.info('corpus (5000 docs):', JSON.stringify({ ...s, alphabet: undefined }));
  });
});

/** Extracts every fact statement it recognises and checks it against the world; returns counts per kind. */
function checkFacts(texts: readonly string[], w: World): Record<string, number> {
  const byName = new Map(w.characters.map((c) => [c.name, c]));
  const place = new Map(w.places.map((p) => [p.name, p]));
  const door = new Map(w.doors.map((d) => [d.colour, d.place]));
  const pet = new Map(w.characters.map((c) => [c.pet.species, c.pet.name]));
  const counts: Record<string, number> = {};
  const seen = (kind: string): void => { counts[kind] = (counts[kind] ?? 0) + 1; };
  const who = (n: string): NonNullable<ReturnType<typeof byName.get>> => {
    const c = byName.get(n);
    if (!c) throw new Error(`unknown character ${n}`);
    return c;
  };
  const rules: [RegExp, (m: RegExpMatchArray) => void][] = [
    [/\b(?!Nobody\b)([A-Z][a-z]+) lives in the ([a-z ]+?)\./g, (m) => { expect(who(m[1]!).home).toBe(m[2]); seen('home'); }],
    [/\b([A-Z][a-z]+)'s home is in the ([a-z ]+?)\./g, (m) => { expect(who(m[1]!).home).toBe(m[2]); seen('home'); }],
    [/\bThe ([a-z ]+?) is where ([A-Z][a-z]+) lives\./g, (m) => { expect(who(m[2]!).home).toBe(m[1]); seen('home'); }],
    [/\b([A-Z][a-z]+) lived in the ([a-z ]+?)\./g, (m) => { expect(who(m[1]!).home).toBe(m[2]); seen('home'); }],
    [/\b([A-Z][a-z]+) is an? \d+-year-old (?:girl|boy) who lives in the ([a-z ]+?)\./g, (m) => { expect(who(m[1]!).home).toBe(m[2]); seen('home'); }],
    [/\b([A-Z][a-z]+) went home to the ([a-z ]+?)(?: and fell asleep)?\./g, (m) => { expect(who(m[1]!).home).toBe(m[2]); seen('home'); }],
    [/\b((?:[A-Z][a-z]+(?:, | and ))+[A-Z][a-z]+) live in the ([a-z ]+?)\./g, (m) => {
      for (const n of m[1]!.split(/, | and /)) expect(who(n).home).toBe(m[2]);
      expect(w.characters.filter((c) => c.home === m[2]).length).toBe(m[1]!.split(/, | and /).length);
      seen('home');
    }],
    [/\bNobody lives in the ([a-z ]+?)\./g, (m) => { expect(w.characters.some((c) => c.home === m[1])).toBe(false); }],
    [/\b([A-Z][a-z]+) has (an?) ([a-z]+) named ([A-Z][a-z]+)\./g, (m) => {
      expect(who(m[1]!).pet).toEqual({ species: m[3], name: m[4] });
      expect(m[2]).toBe(article(m[3]!));
      seen('pet');
    }],
    [/\b([A-Z][a-z]+)'s ([a-z]+) is called ([A-Z][a-z]+)\./g, (m) => { expect(who(m[1]!).pet).toEqual({ species: m[2], name: m[3] }); seen('pet'); }],
    [/\bThe ([a-z]+)'s name is ([A-Z][a-z]+)\./g, (m) => { expect(pet.get(m[1]!)).toBe(m[2]); seen('pet'); }],
    [/\b([A-Z][a-z]+) is ([A-Z][a-z]+)'s ([a-z]+)\./g, (m) => { expect(who(m[2]!).pet).toEqual({ species: m[3], name: m[1] }); seen('pet'); }],
    [/\ba story about ([A-Z][a-z]+) and (her|his) ([a-z]+), ([A-Z][a-z]+)\./g, (m) => {
      const c = who(m[1]!);
      expect(c.pet).toEqual({ species: m[3], name: m[4] });
      expect(m[2]).toBe(c.gender === 'f' ? 'her' : 'his');
      seen('pet');
    }],
    [/\b([A-Z][a-z]+) and ([A-Z][a-z]+) the ([a-z]+) went out to play/g, (m) => { expect(who(m[1]!).pet).toEqual({ species: m[3], name: m[2] }); seen('pet'); }],
    [/\b([A-Z][a-z]+)'s favourite colour is ([a-z]+)\./g, (m) => { expect(who(m[1]!).colour).toBe(m[2]); seen('colour'); }],
    [/\b([A-Z][a-z]+) loves the colour ([a-z]+)\./g, (m) => { expect(who(m[1]!).colour).toBe(m[2]); seen('colour'); }],
    [/\b([A-Z][a-z]+) is (\d+) years old\./g, (m) => { expect(String(who(m[1]!).age)).toBe(m[2]); seen('age'); }],
    [/\b([A-Z][a-z]+) is an? (\d+)-year-old (girl|boy)/g, (m) => {
      const c = who(m[1]!);
      expect(String(c.age)).toBe(m[2]);
      expect(m[3]).toBe(c.gender === 'f' ? 'girl' : 'boy');
      seen('age');
    }],
    [/\b([A-Z][a-z]+)'s best friend is ([A-Z][a-z]+)\./g, (m) => { expect(who(m[1]!).friend).toBe(m[2]); seen('friend'); }],
    [/\b([A-Z][a-z]+) and ([A-Z][a-z]+) are best friends\./g, (m) => { expect(who(m[1]!).friend).toBe(m[2]); seen('friend'); }],
    [/"You are my best friend," said ([A-Z][a-z]+) to ([A-Z][a-z]+)\./g, (m) => { expect(who(m[1]!).friend).toBe(m[2]); seen('friend'); }],
    [/\b([A-Z][a-z]+) went to the [a-z ]+ with (her|his) best friend, ([A-Z][a-z]+)\./g, (m) => {
      expect(who(m[1]!).friend).toBe(m[3]);
      seen('friend');
    }],
    [/\bThe ([a-z ]+?) has an? ([a-z ]+?)\./g, (m) => { expect(place.get(m[1]!)?.landmark).toBe(m[2]); seen('landmark'); }],
    [/\bThere is an? ([a-z ]+?) in the ([a-z ]+?)\./g, (m) => { expect(place.get(m[2]!)?.landmark).toBe(m[1]); seen('landmark'); }],
    [/\bliked the ([a-z ]+?) in the ([a-z ]+?)\./g, (m) => { expect(place.get(m[2]!)?.landmark).toBe(m[1]); seen('landmark'); }],
    [/\bThe ([a-z]+) door opens to the ([a-z ]+?)\./g, (m) => { expect(door.get(m[1]!)).toBe(m[2]); seen('door'); }],
    [/\bBehind the ([a-z]+) door is the ([a-z ]+?)\./g, (m) => { expect(door.get(m[1]!)).toBe(m[2]); seen('door'); }],
    [/\bopened the ([a-z]+) door and stepped into the ([a-z ]+?)\./g, (m) => { expect(door.get(m[1]!)).toBe(m[2]); seen('door'); }],
    [/\bBehind the ([a-z]+) door, [A-Z][a-z]+ found the ([a-z ]+?)\./g, (m) => { expect(door.get(m[1]!)).toBe(m[2]); seen('door'); }],
  ];
  for (const t of texts) for (const [re, check] of rules) for (const m of t.matchAll(re)) check(m);
  return counts;
}

describe('facts', () => {
  it('are never contradicted in the base corpus, and each kind is stated often', () => {
    const counts = checkFacts(corpus, world);
    console.info('fact statements in 5000 docs:', JSON.stringify(counts));
    for (const kind of ['home', 'pet', 'colour', 'age', 'friend', 'landmark', 'door']) expect(counts[kind]).toBeGreaterThan(300);
  });

  it('every single fact, in every phrasing, occurs in the corpus', () => {
    const all = corpus.join('\n');
    const facts = worldFacts(world);
    expect(facts.length).toBe(world.characters.length * 5 + world.places.length + world.doors.length);
    for (const f of facts) for (const s of factSentences(f)) expect(all.includes(s), s).toBe(true);
  });

  it('the checker catches a contradiction (it can fail)', () => {
    const c = world.characters[0]!;
    const other = world.places.find((p) => p.name !== c.home)!.name;
    expect(() => checkFacts([`${c.name} lives in the ${other}.`], world)).toThrow();
    expect(() => checkFacts([`${c.name} is ${c.age + 1} years old.`], world)).toThrow();
  });
});

describe('demo datasets', () => {
  const demos = buildDemos({ pretrainDocs: corpus });

  it('are valid JSONL with the documented fields, a title and a one-line description', () => {
    expect(demos.map((d) => d.id)).toEqual(['new-facts', 'new-style', 'key-value', 'forget-probe']);
    for (const d of demos) {
      expect(d.title.length).toBeGreaterThan(3);
      expect(d.description).toMatch(/^[^\n]{10,200}$/);
      expect(d.fileName).toBe(`${d.id}.jsonl`);
      expect(d.jsonl.endsWith('\n')).toBe(true);
      const lines = d.jsonl.trim().split('\n');
      expect(lines.length).toBe(d.records);
      for (const l of lines) {
        const r = JSON.parse(l) as Record<string, unknown>;
        const keys = Object.keys(r).sort().join(',');
        expect(['text', 'completion,prompt']).toContain(keys);
        for (const v of Object.values(r)) expect(typeof v).toBe('string');
      }
      expect(d.probes.length).toBeGreaterThan(0);
      for (const p of d.probes) expect(p.prompt.length > 0 && p.completion.length > 0).toBe(true);
    }
  });

  it('are deterministic', () => {
    expect(buildDemos({ pretrainDocs: corpus })).toEqual(demos);
    expect(keyValueDemo({ seed: 34 }).jsonl).not.toBe(keyValueDemo().jsonl);
  });

  it('use only characters of the base corpus', () => {
    const alphabet = new Set(corpusStats(corpus).alphabet);
    for (const d of demos) {
      const used = new Set([...text(d), ...d.probes.map((p) => p.prompt + p.completion)].join(''));
      expect([...used].filter((ch) => !alphabet.has(ch)), d.id).toEqual([]);
    }
  });

  it('newFacts: its entities never appear in the base corpus or its tables, and every new fact is taught', () => {
    const extra = newEntities(world);
    const names = [
      ...extra.characters.flatMap((c) => [c.name, c.pet.name, c.pet.species]),
      ...extra.places.flatMap((p) => [p.name, p.landmark]),
    ];
    const all = corpus.join(' ');
    const lower = all.toLowerCase();
    const words = new Set(lower.match(/[a-z]+/g));
    for (const n of names) {
      if (n.includes(' ')) expect(lower.includes(n), n).toBe(false);
      else expect(words.has(n.toLowerCase()), n).toBe(false);
    }
    const pools = new Set<string>([...PEOPLE.map((p) => p.name), ...PET_NAMES, ...PLACES, ...LANDMARKS, ...ANIMALS.map((a) => a.species)]);
    for (const n of names) expect(pools.has(n)).toBe(false);
    // the new door's colour has no door in the base world
    expect(world.doors.some((d) => d.colour === extra.doors[0]!.colour)).toBe(false);

    const demo = newFactsDemo();
    const taught = text(demo).join('\n');
    const facts = worldFacts(extra);
    expect(demo.probes.length).toBe(facts.length);
    for (const f of facts) for (const s of factSentences(f)) expect(taught.includes(s), s).toBe(true);
    for (const p of demo.probes) {
      expect(taught.includes(p.prompt + p.completion)).toBe(true);
      expect(all.includes(p.prompt + p.completion)).toBe(false);
    }
    // the new facts and the base facts they mention never contradict each other
    checkFacts(text(demo), extendWorld(world, extra));
  });

  it('newStyle: pirate stories, probes held out', () => {
    const demo = newStyleDemo();
    const stories = text(demo);
    expect(stories.length).toBe(200);
    for (const s of stories) {
      expect(s.startsWith('Arr! ')).toBe(true);
      expect(s.endsWith(' Yo ho ho!')).toBe(true);
      expect(s).not.toMatch(/\b(the|and|is|was)\b/i);
    }
    expect(stories.filter((s) => s.includes("th'")).length).toBeGreaterThan(180);
    for (const p of demo.probes) expect(stories).not.toContain(p.prompt + p.completion);
    // the retold stories keep the world's facts (pirate "be" for "is" aside)
    checkFacts(stories.map((s) => s.replace(/\bbe\b/g, 'is').replace(/\bth'/g, 'the').replace(/\bTh'/g, 'The').replace(/\ban'/g, 'and')), world);
  });

  it('keyValue: unique hex keys, prompt = key, completion = value', () => {
    const demo = keyValueDemo({ count: 500 });
    const recs = demo.jsonl.trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string });
    expect(recs.length).toBe(500);
    expect(new Set(recs.map((r) => r.prompt)).size).toBe(500);
    for (const r of recs) {
      expect(r.prompt).toMatch(/^key [0-9a-f]{4}-[0-9a-f]{4}:$/);
      expect(r.completion).toMatch(/^ [0-9a-f]{4}-[0-9a-f]{4}$/);
    }
    expect(demo.probes).toEqual(recs);
  });

  it('forgetProbe: base-distribution text from another seed, none of it in the training corpus', () => {
    const demo = forgetProbeDemo({ exclude: corpus });
    const docs = text(demo);
    expect(docs.length).toBe(200);
    const train = new Set(corpus);
    expect(docs.filter((d) => train.has(d)).length).toBe(0);
    checkFacts(docs, world);
    expect(demo.probes.length).toBe(worldFacts(world).length);
    expect(forgetProbeDemo({ exclude: corpus })).toEqual(demo);
  });
});

describe('BPE tokenizer builder', () => {
  const t0 = performance.now();
  const model = trainBpe(corpus, { vocabSize: 512 });
  const trainMs = performance.now() - t0;
  const bin = tokenizerBin(model);
  const tok = Llama2cTokenizer.fromBytes(bin, 'tokenizer.bin', 512);

  it('has the llama2.c layout: specials, 256 byte pieces, characters, merges; V pieces, all distinct', () => {
    expect(model.vocabSize).toBe(512);
    expect(model.pieces.slice(0, 3)).toEqual(['<unk>', '\n<s>\n', '\n</s>\n']);
    expect(model.pieces[3]).toBe('<0x00>');
    expect(model.pieces[3 + 0x41]).toBe('<0x41>');
    expect(model.pieces[258]).toBe('<0xFF>');
    expect(new Set(model.pieces).size).toBe(512);
    expect(model.charCount).toBe(corpusStats(corpus).alphabet.length);
    expect(model.mergeCount).toBe(512 - FIRST_LEARNED_ID - model.charCount);
    // merge scores strictly decrease with merge order; characters score below every merge
    const merges = model.scores.slice(FIRST_LEARNED_ID + model.charCount);
    for (let i = 1; i < merges.length; i++) expect(merges[i]).toBeLessThan(merges[i - 1]!);
    for (let i = FIRST_LEARNED_ID; i < FIRST_LEARNED_ID + model.charCount; i++) expect(model.scores[i]).toBeLessThan(merges.at(-1)!);
    // no learned piece has a space after its first character or a newline with anything else
    for (const p of model.pieces.slice(FIRST_LEARNED_ID)) expect(p === '\n' || /^ ?[^ \n]*$/.test(p)).toBe(true);
    console.info(`BPE V=512 on ${corpusStats(corpus).bytes} bytes: ${trainMs.toFixed(0)} ms`);
  });

  it('tokenizer.bin loads with Llama2cTokenizer (with and without the vocabulary size)', () => {
    expect(tok.vocabSize).toBe(512);
    expect(tok.pieces).toEqual(model.pieces);
    expect(Array.from(tok.scores)).toEqual(Array.from(model.scores));
    expect(tok.maxTokenLength).toBe(Math.max(...model.pieces.map((p) => new TextEncoder().encode(p).length)));
    expect(Llama2cTokenizer.fromBytes(bin).vocabSize).toBe(512);
  });

  it('Llama2cTokenizer encodes exactly as the builder tracked, and decodes the corpus back exactly', () => {
    let chars = 0, tokens = 0;
    for (const d of corpus) {
      const ids = tok.encode(d, { bos: true, eos: true });
      expect(ids).toEqual(model.encode(d, { bos: true, eos: true }));
      expect(tok.decode(ids)).toBe(d);
      chars += d.length;
      tokens += ids.length - 2;
    }
    const cpt = chars / tokens;
    console.info(`V=512: ${cpt.toFixed(2)} chars/token on the corpus`);
    expect(cpt).toBeGreaterThan(2.4);
    expect(charsPerToken(model, corpus)).toBeCloseTo((chars + corpus.length) / tokens, 10);
  });

  it('agrees with Llama2cTokenizer on unseen text too: demos, unicode (byte fallback), newlines, runs of spaces', () => {
    const odd = ['café ☕ and 𝄞', 'two  spaces\nand a newline\n\nand  \n trailing ', ' leading space', 'x', 'Mira!!!?? "quoted"'];
    for (const d of [...buildDemos({ pretrainDocs: corpus }).flatMap(text), ...odd]) {
      const ids = tok.encode(d, { bos: true });
      expect(ids).toEqual(model.encode(d, { bos: true }));
      expect(tok.decode(ids)).toBe(d);
    }
    // characters outside the vocabulary fall back to their UTF-8 bytes
    expect(model.encode('☕').slice(1)).toEqual([...new TextEncoder().encode('☕')].map((b) => b + 3));
  });

  it('compresses better with a larger vocabulary', () => {
    const big = trainBpe(corpus, { vocabSize: 1024 });
    const tok1024 = Llama2cTokenizer.fromBytes(tokenizerBin(big), 'tokenizer.bin', 1024);
    for (const d of corpus.slice(0, 500)) expect(tok1024.encode(d)).toEqual(big.encode(d));
    const cpt = charsPerToken(big, corpus);
    console.info(`V=1024: ${cpt.toFixed(2)} chars/token on the corpus`);
    expect(cpt).toBeGreaterThan(4);
    expect(cpt).toBeGreaterThan(charsPerToken(model, corpus) + 1);
  });

  it('BPE-dropout decodes to the same text and trains every learned piece', () => {
    const rng = new Rng(3);
    const seen = new Set<number>();
    for (const d of corpus) {
      const ids = encodeWithDropout(model, d, 0.1, rng, { bos: true });
      expect(tok.decode(ids)).toBe(d);
      ids.forEach((id) => seen.add(id));
    }
    const plain = new Set(corpus.flatMap((d) => model.encode(d)));
    const learned = model.pieces.map((_, i) => i).filter((i) => i >= FIRST_LEARNED_ID);
    expect(learned.filter((i) => !plain.has(i)).length).toBeGreaterThan(20); // plain encoding leaves pieces untrained...
    expect(learned.filter((i) => !seen.has(i))).toEqual([]); // ...dropout reaches all of them
    expect(encodeWithDropout(model, corpus[0]!, 0, rng)).toEqual(model.encode(corpus[0]!));
  });

  it('demo files tokenise without warnings in the training data pipeline', () => {
    for (const d of buildDemos({ pretrainDocs: corpus })) {
      const data = prepareData(d.fileName, d.jsonl, tok, { seqLen: 256 });
      expect(data.warnings, d.id).toEqual([]);
      expect(data.stats.records).toBe(d.records);
    }
  });

  it('refuses a vocabulary too small for the alphabet or larger than the corpus supports', () => {
    expect(() => trainBpe(corpus, { vocabSize: 300 })).toThrow(/too small/);
    expect(() => trainBpe(['ab ab'], { vocabSize: 400 })).toThrow(/supports only/);
  });
});

describe('the demos on the built-in model', () => {
  const dir = new URL('../../public/models/tinyworld/', import.meta.url);
  const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
  const T = DEFAULT_TRAIN_CONFIG.seq;

  it(`fit the default sequence length (${T}): no record truncated, every record kept, with the built-in tokenizer`, async () => {
    expect(T).toBe(128);
    const tok = await HfTokenizer.fromText(read('tokenizer.json'), read('tokenizer_config.json'));
    expect(tok.vocabSize).toBe(1024);
    const longest: Record<string, number> = {};
    for (const d of buildDemos()) {
      const data = prepareData(d.fileName, d.jsonl, tok, { seqLen: T });
      expect(data.warningCounts, d.id).toEqual({ truncated: 0, split: 0, skipped: 0, boundary: 0 });
      expect(data.stats.records, d.id).toBe(d.records);
      longest[d.id] = Math.max(...text(d).map((t) => tok.encode(t, { bos: true, eos: true }).length));
      expect(longest[d.id], d.id).toBeLessThanOrEqual(T + 1); // a window holds T + 1 tokens: T inputs, each predicting the next
    }
    // measured with BOS and EOS; the pirate stories are capped at 380 characters to fit
    expect(longest).toEqual({ 'new-facts': 122, 'new-style': 121, 'key-value': 23, 'forget-probe': 80 });
  });

  it('the pirate demo skips stories over its character cap, and would not fit without it', () => {
    const capped = text(newStyleDemo());
    expect(Math.max(...capped.map((s) => s.length))).toBeLessThanOrEqual(380);
    const uncapped = text(newStyleDemo({ maxChars: Infinity }));
    expect(uncapped.length).toBe(200);
    expect(Math.max(...uncapped.map((s) => s.length))).toBe(416);
  });
});

describe('fact templates', () => {
  it('every probe phrasing is one of the phrasings', () => {
    for (const t of Object.values(FACT_TEMPLATES)) expect(t.phrasings).toContain(t.probe.replace('|', ''));
  });
});
