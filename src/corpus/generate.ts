/**
 * The base corpus: short stories (3–8 sentences) and short descriptions of characters and places,
 * generated from the templates in story-templates.ts and the facts in facts.ts over one fixed
 * world. Document i depends only on (seed, i) and the world, so a longer corpus extends a shorter one.
 */
import { characterFacts, factSentence, worldFacts, type Fact, characterVars } from './facts.ts';
import { sentence } from './grammar.ts';
import { Rng, mixSeed } from './rng.ts';
import { CHARACTER_INTROS, CLOSINGS, MOVES, OPENINGS, PLACE_INTROS, TIMES, type MoveId } from './story-templates.ts';
import {
  COLOURS, FEELINGS, OBJECTS, animalKind, buildWorld, type Character, type ObjectKind, type Place, type World,
} from './world.ts';

export const DEFAULT_CORPUS_SEED = 1;

export interface CorpusOptions {
  /** Seed of the document stream (the world has its own seed). */
  seed?: number;
  documents: number;
  /** Default: buildWorld() with the default world seed. */
  world?: World;
}

/** Share of each document kind. */
const DOC_KINDS = [
  { weight: 0.75, value: 'story' },
  { weight: 0.15, value: 'character' },
  { weight: 0.1, value: 'place' },
] as const;

/** `documents` documents of the base corpus, deterministic in (seed, world). */
export function generateCorpus(opts: CorpusOptions): string[] {
  const world = opts.world ?? buildWorld();
  const seed = opts.seed ?? DEFAULT_CORPUS_SEED;
  const docs: string[] = [];
  for (let i = 0; i < opts.documents; i++) docs.push(generateDocument(world, new Rng(mixSeed(seed, i))));
  return docs;
}

/** One document of a random kind. */
export function generateDocument(world: World, rng: Rng): string {
  const kind = rng.weighted(DOC_KINDS);
  if (kind === 'story') return generateStory(world, rng);
  if (kind === 'character') return describeCharacter(rng.pick(world.characters), rng);
  return describePlace(world, rng);
}

/** What a story knows while it is being told. */
interface StoryState {
  world: World;
  hero: Character;
  place: string;
  /** An object the hero found and still has. */
  obj?: ObjectKind;
}

/** A story about `hero` (default: a random character): an opening, 1–6 lines, a closing. */
export function generateStory(world: World, rng: Rng, hero: Character = rng.pick(world.characters)): string {
  const st: StoryState = { world, hero, place: hero.home };
  const lines = [sentence(rng.pick(OPENINGS), storyVars(st, rng))];
  const body = rng.range(1, 6);
  for (let i = 0; i < body; i++) lines.push(bodyLine(st, rng));
  lines.push(sentence(rng.pick(CLOSINGS), storyVars(st, rng)));
  return lines.join(' ');
}

/** Slot values for one line: the hero, the scene, and fresh random picks. */
function storyVars(st: StoryState, rng: Rng): Record<string, string | number> {
  const { world, hero } = st;
  const place = world.places.find((p) => p.name === st.place)!;
  const others = world.characters.filter((c) => c.name !== hero.name);
  const [f1, f2] = rng.sample(FEELINGS, 2);
  const [o1, o2, o3] = rng.sample(OBJECTS, 3);
  const objs = rng.pick(OBJECTS);
  return {
    ...characterVars(hero),
    place: place.name,
    landmark: place.landmark,
    time: rng.pick(TIMES),
    feeling: f1!,
    feeling2: f2!,
    other: rng.pick(others).name,
    petAction: rng.pick(animalKind(world, hero.pet.species).actions),
    n: rng.range(2, 9),
    objs: objs.plural,
    o1: o1!.noun,
    o2: o2!.noun,
    o3: o3!.noun,
  };
}

/** Moves whose needs the state meets. */
function possibleMoves(st: StoryState): MoveId[] {
  const ok: MoveId[] = [];
  for (const m of MOVES) {
    if ((m.id === 'useObj' || m.id === 'giveObj') && !st.obj) continue;
    if (m.id === 'find' && st.obj) continue;
    if (m.id === 'door' && !st.world.doors.some((d) => d.place !== st.place)) continue;
    ok.push(m.id);
  }
  return ok;
}

/** One body line: picks a move, fills one of its templates, updates the state. */
function bodyLine(st: StoryState, rng: Rng): string {
  const allowed = new Set(possibleMoves(st));
  const id = rng.weighted(MOVES.filter((m) => allowed.has(m.id)).map((m) => ({ weight: m.weight, value: m.id })));
  if (id === 'fact') return factSentence(storyFact(st, rng), rng);
  const move = MOVES.find((m) => m.id === id)!;
  const vars = storyVars(st, rng);
  const template = rng.pick(move.templates);
  switch (id) {
    case 'walk':
    case 'walkFriend': {
      const dest = rng.pick(st.world.places.filter((p) => p.name !== st.place)).name;
      st.place = dest;
      return sentence(template, { ...vars, dest });
    }
    case 'door': {
      const door = rng.pick(st.world.doors.filter((d) => d.place !== st.place));
      st.place = door.place;
      return sentence(template, { ...vars, dest: door.place, doorColour: door.colour });
    }
    case 'find': {
      const obj = rng.pick(OBJECTS);
      st.obj = obj;
      return sentence(template, { ...vars, thing: `${rng.pick(COLOURS)} ${obj.noun}` });
    }
    case 'useObj':
      return sentence(template, { ...vars, obj: st.obj!.noun });
    case 'giveObj': {
      const obj = st.obj!.noun;
      st.obj = undefined;
      return sentence(template, { ...vars, obj });
    }
    default:
      return sentence(template, vars);
  }
}

/** A fact fitting the story: about the hero, the hero's friend, the current place, or a door. */
function storyFact(st: StoryState, rng: Rng): Fact {
  const r = rng.next();
  const all = cachedFacts(st.world);
  if (r < 0.55) return rng.pick(characterFacts(st.hero));
  if (r < 0.7) {
    const friend = st.world.characters.find((c) => c.name === st.hero.friend)!;
    return rng.pick(characterFacts(friend));
  }
  if (r < 0.85) return all.find((f) => f.kind === 'landmark' && f.subject === st.place)!;
  return rng.pick(all.filter((f) => f.kind === 'door'));
}

const factCache = new WeakMap<World, Fact[]>();

/** worldFacts, computed once per world object. */
function cachedFacts(world: World): Fact[] {
  let facts = factCache.get(world);
  if (!facts) factCache.set(world, (facts = worldFacts(world)));
  return facts;
}

/** A description of a character: an intro and 3–5 of the character's facts. */
export function describeCharacter(c: Character, rng: Rng): string {
  const facts = rng.sample(characterFacts(c), rng.range(3, 5));
  const lines = [sentence(rng.pick(CHARACTER_INTROS), characterVars(c)), ...facts.map((f) => factSentence(f, rng))];
  return lines.join(' ');
}

/** A description of a place: its landmark, its doors, and who lives there. */
export function describePlace(world: World, rng: Rng, place: Place = rng.pick(world.places)): string {
  const facts = cachedFacts(world).filter((f) => (f.kind === 'landmark' || f.kind === 'door') && f.vars.place === place.name);
  const lines = [sentence(rng.pick(PLACE_INTROS), { place: place.name }), ...rng.shuffle(facts).map((f) => factSentence(f, rng))];
  const residents = rng.shuffle(world.characters.filter((c) => c.home === place.name).map((c) => c.name));
  if (residents.length === 1) lines.push(`${residents[0]} lives in the ${place.name}.`);
  else if (residents.length > 1) lines.push(`${residents.slice(0, -1).join(', ')} and ${residents.at(-1)} live in the ${place.name}.`);
  else lines.push(`Nobody lives in the ${place.name}.`);
  return lines.join(' ');
}

export interface CorpusStats {
  documents: number;
  chars: number;
  /** UTF-8 bytes. */
  bytes: number;
  words: number;
  distinctWords: number;
  sentences: number;
  meanDocChars: number;
  maxDocChars: number;
  /** Every distinct character, sorted. */
  alphabet: string;
}

/** Size and vocabulary of a corpus (words: lowercase letter/digit/apostrophe runs). */
export function corpusStats(docs: readonly string[]): CorpusStats {
  let chars = 0, bytes = 0, words = 0, sentences = 0, maxDocChars = 0;
  const distinct = new Set<string>();
  const alphabet = new Set<string>();
  const enc = new TextEncoder();
  for (const d of docs) {
    chars += d.length;
    bytes += enc.encode(d).length;
    maxDocChars = Math.max(maxDocChars, d.length);
    for (const w of d.toLowerCase().match(/[a-z0-9']+/g) ?? []) { words++; distinct.add(w); }
    sentences += (d.match(/[.!?](?=\s|"|$)/g) ?? []).length;
    for (const ch of d) alphabet.add(ch);
  }
  return {
    documents: docs.length, chars, bytes, words, distinctWords: distinct.size, sentences,
    meanDocChars: docs.length ? chars / docs.length : 0, maxDocChars, alphabet: [...alphabet].sort().join(''),
  };
}
