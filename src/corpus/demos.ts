/**
 * Fine-tuning demo datasets over the base world, each as JSONL text with a title, a one-line
 * description and probes (prompt/completion pairs whose completions test what the data teaches):
 *   newFacts    — facts about characters, pets and places the base world does not have;
 *   newStyle    — base-world stories retold in a pirate dialect;
 *   keyValue    — random hex keys → hex values to memorise (the MoRA memory task);
 *   forgetProbe — held-out base-corpus text (another document seed) for measuring forgetting.
 * Every demo uses only characters that occur in the base corpus, so no demo token is an
 * embedding the pretraining never trained. All are deterministic in their options.
 */
import type { DemoId } from '../schema/data.ts';
import { characterFacts, factProbe, worldFacts, FACT_TEMPLATES, type Fact } from './facts.ts';
import { describeCharacter, describePlace, generateCorpus, generateStory } from './generate.ts';
import { sentence } from './grammar.ts';
import { Rng, mixSeed } from './rng.ts';
import {
  COLOURS, DEMO_ANIMALS, DEMO_LANDMARKS, DEMO_PEOPLE, DEMO_PET_NAMES, DEMO_PLACES, buildWorld, extendWorld,
  type Character, type World,
} from './world.ts';

export interface PromptCompletion {
  prompt: string;
  completion: string;
}

export type DemoRecord = { text: string } | PromptCompletion;


export interface DemoDataset {
  id: DemoId;
  title: string;
  /** One line: what fine-tuning on this file should change. */
  description: string;
  /** Suggested file name ("new-facts.jsonl"). */
  fileName: string;
  /** One JSON record per line, "\n"-terminated. */
  jsonl: string;
  /** Number of records in `jsonl`. */
  records: number;
  /** Prompts whose completions test the dataset (for before/after comparisons). */
  probes: PromptCompletion[];
}

/** Records → JSONL text (one object per line, trailing newline). */
export function toJsonl(records: readonly DemoRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

function dataset(id: DemoId, title: string, description: string, records: DemoRecord[], probes: PromptCompletion[]): DemoDataset {
  return { id, title, description, fileName: `${id}.jsonl`, jsonl: toJsonl(records), records: records.length, probes };
}

// ---------------------------------------------------------------------------------------------
// newFacts
// ---------------------------------------------------------------------------------------------

export interface NewFactsOptions {
  seed?: number;
  world?: World;
  /** Stories per new character; default 24. */
  storiesPerCharacter?: number;
}

/** The new entities: two characters (best friends) with new pets, two new places, one new door. */
export function newEntities(base: World, seed = 11): World {
  const rng = new Rng(mixSeed(seed, 0xfac7));
  const [a, b] = [DEMO_PEOPLE[0]!, DEMO_PEOPLE[1]!];
  const places = DEMO_PLACES.slice(0, 2).map((name, i) => ({ name, landmark: DEMO_LANDMARKS[i]! }));
  const characters: Character[] = [a, b].map((p, i) => ({
    name: p.name, gender: p.gender, age: rng.range(5, 12), home: places[i]!.name,
    pet: { name: DEMO_PET_NAMES[i]!, species: DEMO_ANIMALS[i]!.species }, colour: rng.pick(COLOURS),
    friend: i === 0 ? b.name : a.name,
  }));
  const freeColours = COLOURS.filter((c) => !base.doors.some((d) => d.colour === c));
  return { characters, places, doors: [{ colour: rng.pick(freeColours), place: places[0]!.name }], animals: DEMO_ANIMALS.slice(0, 2) };
}

/** Facts about new characters and places, in every phrasing, alone and inside stories. */
export function newFactsDemo(opts: NewFactsOptions = {}): DemoDataset {
  const base = opts.world ?? buildWorld();
  const seed = opts.seed ?? 11;
  const extra = newEntities(base, seed);
  const world = extendWorld(base, extra);
  const rng = new Rng(mixSeed(seed, 1));
  const records: DemoRecord[] = [];
  const newFacts = worldFacts(extra);
  // every phrasing of every fact at least once: record j uses phrasing j of each fact
  for (const c of extra.characters) {
    const facts = characterFacts(c);
    const n = Math.max(...facts.map((f) => FACT_TEMPLATES[f.kind].phrasings.length));
    for (let j = 0; j < n; j++) records.push({ text: facts.map((f) => phrasing(f, j)).join(' ') });
    records.push({ text: describeCharacter(c, rng) });
  }
  for (const p of extra.places) {
    const facts = newFacts.filter((f) => f.vars.place === p.name);
    for (let j = 0; j < 2; j++) records.push({ text: facts.map((f) => phrasing(f, j)).join(' ') });
    records.push({ text: describePlace(world, rng, p) });
  }
  for (const c of extra.characters) {
    for (let i = 0; i < (opts.storiesPerCharacter ?? 24); i++) records.push({ text: generateStory(world, rng, c) });
  }
  return dataset(
    'new-facts', 'New facts',
    `Teaches facts the base model never saw: ${extra.characters.map((c) => c.name).join(' and ')}, their pets and the ${extra.places.map((p) => p.name).join(' and the ')}.`,
    rng.shuffle(records), newFacts.map(factProbe),
  );
}

/** Phrasing j (mod the number of phrasings) of a fact. */
function phrasing(f: Fact, j: number): string {
  const ts = FACT_TEMPLATES[f.kind].phrasings;
  return sentence(ts[j % ts.length]!, f.vars);
}

// ---------------------------------------------------------------------------------------------
// newStyle: pirate dialect
// ---------------------------------------------------------------------------------------------

/** Plain word → pirate word (lowercase; capitalisation is carried over). */
export const PIRATE_WORDS: Readonly<Record<string, string>> = {
  is: 'be', are: 'be', was: 'were', the: "th'", and: "an'", of: "o'", my: 'me', you: 'ye', your: 'yer',
  hello: 'ahoy', yes: 'aye', friend: 'matey', friends: 'mateys', very: 'mighty', small: 'wee',
  walked: 'sailed', ran: 'sailed', found: 'spied', saw: 'spied',
};

/** A plain story retold by a pirate: word swaps, "arr" endings, "Arr!" first and "Yo ho ho!" last. */
export function toPirate(text: string, rng: Rng): string {
  const swapped = text.replace(/[A-Za-z]+/g, (w) => {
    const p = PIRATE_WORDS[w.toLowerCase()];
    if (!p) return w;
    return w[0] === w[0]!.toUpperCase() ? p[0]!.toUpperCase() + p.slice(1) : p;
  });
  // sentence ends outside quotes: ". " or final "." → sometimes ", arr!"
  const arred = swapped.replace(/([a-z])\.(?= [A-Z]|$)/g, (_, c: string) => (rng.chance(0.35) ? `${c}, arr!` : `${c}.`));
  return `Arr! ${arred} Yo ho ho!`;
}

export interface NewStyleOptions {
  seed?: number;
  world?: World;
  /** Training stories; default 200. */
  stories?: number;
  /** Held-out stories used as probes; default 16. */
  probes?: number;
  /** Longest story kept, in characters; longer ones are skipped. Default 380: one window at the default seq (128 tokens). */
  maxChars?: number;
}

/** Base-world stories in a pirate dialect; probes are held-out pirate stories after their first words. */
export function newStyleDemo(opts: NewStyleOptions = {}): DemoDataset {
  const world = opts.world ?? buildWorld();
  const seed = opts.seed ?? 22;
  const maxChars = opts.maxChars ?? 380;
  let next = 0;
  /** The next story of at most maxChars characters. */
  const story = (): string => {
    for (;;) {
      const rng = new Rng(mixSeed(seed, next++));
      const s = toPirate(generateStory(world, rng), rng);
      if (s.length <= maxChars) return s;
    }
  };
  const n = opts.stories ?? 200;
  const records = Array.from({ length: n }, () => ({ text: story() }));
  const probes = Array.from({ length: opts.probes ?? 16 }, () => {
    const words = story().split(' ');
    return { prompt: words.slice(0, 4).join(' '), completion: ' ' + words.slice(4).join(' ') };
  });
  return dataset('new-style', 'Pirate style', 'Retells the same kind of stories in a pirate dialect ("Arr! ... th\' ... Yo ho ho!").', records, probes);
}

// ---------------------------------------------------------------------------------------------
// keyValue: random hex keys → hex values (MoRA memory task)
// ---------------------------------------------------------------------------------------------

export interface KeyValueOptions {
  seed?: number;
  /** Pairs; default 64. */
  count?: number;
}

/** A random "xxxx-xxxx" hex code. */
function hexCode(rng: Rng): string {
  return `${rng.hex(4)}-${rng.hex(4)}`;
}

/** `count` unique keys with random values; prompt "key 3f9a-12c0:", completion " 77be-019d". */
export function keyValueDemo(opts: KeyValueOptions = {}): DemoDataset {
  const rng = new Rng(mixSeed(opts.seed ?? 33, 0x4b56));
  const count = opts.count ?? 64;
  const keys = new Set<string>();
  const records: PromptCompletion[] = [];
  while (records.length < count) {
    const key = hexCode(rng);
    if (keys.has(key)) continue;
    keys.add(key);
    records.push({ prompt: `key ${key}:`, completion: ` ${hexCode(rng)}` });
  }
  return dataset('key-value', 'Memorise key → value', `${count} random hex keys, each mapped to a random hex value: pure memorisation, nothing to generalise.`, records, records);
}

// ---------------------------------------------------------------------------------------------
// forgetProbe: held-out base text
// ---------------------------------------------------------------------------------------------

export const FORGET_PROBE_SEED = 7331;

export interface ForgetProbeOptions {
  seed?: number;
  world?: World;
  /** Documents; default 200. */
  documents?: number;
  /** Training documents to leave out (the pretraining corpus), so none is repeated verbatim. */
  exclude?: readonly string[];
}

/** Base-distribution documents from another seed; probes are the base world's facts. */
export function forgetProbeDemo(opts: ForgetProbeOptions = {}): DemoDataset {
  const world = opts.world ?? buildWorld();
  const want = opts.documents ?? 200;
  const exclude = new Set(opts.exclude ?? []);
  const docs: string[] = [];
  // generate in growing batches until enough documents survive the exclusion
  for (let n = want; docs.length < want; n *= 2) {
    docs.length = 0;
    for (const d of generateCorpus({ seed: opts.seed ?? FORGET_PROBE_SEED, documents: n, world })) {
      if (!exclude.has(d) && docs.length < want) docs.push(d);
    }
  }
  return dataset(
    'forget-probe', 'Held-out base text',
    'Text from the base corpus\'s own distribution that no training run sees: its loss before and after fine-tuning measures forgetting.',
    docs.map((text) => ({ text })), worldFacts(world).map(factProbe),
  );
}

/** All four demos with default options (the forget probe excluding `pretrainDocs` when given). */
export function buildDemos(opts: { world?: World; pretrainDocs?: readonly string[] } = {}): DemoDataset[] {
  const world = opts.world ?? buildWorld();
  return [
    newFactsDemo({ world }),
    newStyleDemo({ world }),
    keyValueDemo(),
    forgetProbeDemo({ world, exclude: opts.pretrainDocs }),
  ];
}

