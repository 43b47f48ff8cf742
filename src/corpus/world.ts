/**
 * The small fixed world the base corpus describes: entity tables (data) and a seeded builder that
 * assigns every character a home, a pet, an age, a favourite colour and a best friend, and every
 * place a landmark and (for some) a coloured door that opens to it. Entities reserved for the
 * fine-tuning demos (DEMO_*) are never placed in a base world.
 */
import { Rng } from './rng.ts';

export type Gender = 'f' | 'm';

export interface PersonName {
  name: string;
  gender: Gender;
}

export interface AnimalKind {
  species: string;
  /** Past-tense predicates with the pet as subject: "Tobi hooted softly." */
  actions: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Entity tables. Base pools feed buildWorld; DEMO_* pools are disjoint and only used by demos.ts.
// ---------------------------------------------------------------------------------------------

export const PEOPLE: readonly PersonName[] = [
  { name: 'Mira', gender: 'f' }, { name: 'Joss', gender: 'm' }, { name: 'Lena', gender: 'f' },
  { name: 'Finn', gender: 'm' }, { name: 'Ada', gender: 'f' }, { name: 'Theo', gender: 'm' },
  { name: 'Nina', gender: 'f' }, { name: 'Owen', gender: 'm' }, { name: 'Rosa', gender: 'f' },
  { name: 'Sam', gender: 'm' }, { name: 'Ivy', gender: 'f' }, { name: 'Leo', gender: 'm' },
  { name: 'Maya', gender: 'f' }, { name: 'Ben', gender: 'm' }, { name: 'Zoe', gender: 'f' },
  { name: 'Kai', gender: 'm' }, { name: 'Ella', gender: 'f' }, { name: 'Noah', gender: 'm' },
  { name: 'Lily', gender: 'f' }, { name: 'Max', gender: 'm' },
];

export const PET_NAMES: readonly string[] = [
  'Tobi', 'Pip', 'Coco', 'Rex', 'Luna', 'Biscuit', 'Pepper', 'Nutmeg',
  'Olive', 'Mochi', 'Ziggy', 'Mango', 'Pebble', 'Button', 'Toffee', 'Bramble',
];

export const ANIMALS: readonly AnimalKind[] = [
  { species: 'owl', actions: ['hooted softly', 'flew over the trees', 'blinked its big eyes'] },
  { species: 'dog', actions: ['barked happily', 'wagged its tail', 'ran in circles'] },
  { species: 'cat', actions: ['purred', 'chased a leaf', 'slept in the sun'] },
  { species: 'fox', actions: ['sniffed the air', 'ran into the grass', 'hid behind a rock'] },
  { species: 'rabbit', actions: ['hopped around', 'ate a carrot', 'twitched its nose'] },
  { species: 'duck', actions: ['quacked loudly', 'swam in a puddle', 'flapped its wings'] },
  { species: 'goat', actions: ['ate some grass', 'jumped onto a rock', 'shook its head'] },
  { species: 'pony', actions: ['trotted along', 'shook its mane', 'ate an apple'] },
  { species: 'frog', actions: ['jumped into the water', 'croaked', 'sat on a leaf'] },
  { species: 'hedgehog', actions: ['curled into a ball', 'sniffed a flower', 'walked slowly'] },
  { species: 'mouse', actions: ['squeaked', 'ate a piece of cheese', 'ran under the table'] },
  { species: 'turtle', actions: ['walked very slowly', 'hid in its shell', 'swam for a while'] },
  { species: 'parrot', actions: ['sang a song', 'said hello', 'flew onto a branch'] },
  { species: 'goose', actions: ['honked loudly', 'walked in a line', 'flapped its wings'] },
  { species: 'lamb', actions: ['jumped in the grass', 'said baa', 'slept in the sun'] },
  { species: 'squirrel', actions: ['climbed a tree', 'found a nut', 'ran along a branch'] },
];

export const PLACES: readonly string[] = [
  'harbour town', 'mountain village', 'old forest', 'green valley', 'sunny beach', 'hill farm',
  'river town', 'quiet meadow', 'snowy hills', 'big city', 'little bay', 'rose garden',
];

/** Landmarks, one per place ("The harbour town has a tall lighthouse."). */
export const LANDMARKS: readonly string[] = [
  'tall lighthouse', 'old well', 'stone bridge', 'big oak tree', 'little bakery', 'wooden windmill',
  'deep pond', 'tiny school', 'busy market', 'round tower', 'quiet library', 'old castle',
];

export const COLOURS: readonly string[] = [
  'red', 'blue', 'green', 'yellow', 'orange', 'purple', 'pink', 'white', 'black', 'brown', 'grey', 'silver',
];

export interface ObjectKind {
  noun: string;
  plural: string;
}

export const OBJECTS: readonly ObjectKind[] = [
  'ball', 'kite', 'book', 'cup', 'hat', 'key', 'lamp', 'drum', 'shell', 'apple', 'boat', 'bell', 'map',
  'spoon', 'coin',
].map((noun) => ({ noun, plural: `${noun}s` })).concat([{ noun: 'box', plural: 'boxes' }]);

export const FEELINGS: readonly string[] = [
  'happy', 'sad', 'tired', 'brave', 'sleepy', 'proud', 'scared', 'calm', 'excited', 'curious', 'hungry', 'cheerful', 'puzzled',
];

/** Reserved for the newFacts demo: never part of a base world. */
export const DEMO_PEOPLE: readonly PersonName[] = [
  { name: 'Zara', gender: 'f' }, { name: 'Orin', gender: 'm' }, { name: 'Pia', gender: 'f' }, { name: 'Rufus', gender: 'm' },
];
export const DEMO_PET_NAMES: readonly string[] = ['Fizz', 'Waffle', 'Jumble', 'Sprout'];
export const DEMO_ANIMALS: readonly AnimalKind[] = [
  { species: 'otter', actions: ['swam on its back', 'played with a pebble', 'dived into the water'] },
  { species: 'badger', actions: ['dug a hole', 'sniffed the ground', 'snored in its den'] },
  { species: 'beaver', actions: ['chewed a stick', 'built a dam', 'slapped its tail'] },
  { species: 'crow', actions: ['cawed loudly', 'picked up a shiny stone', 'hopped on the roof'] },
];
export const DEMO_PLACES: readonly string[] = ['salt marsh', 'copper canyon'];
export const DEMO_LANDMARKS: readonly string[] = ['glass dome', 'singing fountain'];

// ---------------------------------------------------------------------------------------------
// The world: who lives where, with which pet, and so on.
// ---------------------------------------------------------------------------------------------

export interface Character {
  name: string;
  gender: Gender;
  age: number;
  home: string;
  pet: { name: string; species: string };
  colour: string;
  friend: string;
}

export interface Place {
  name: string;
  landmark: string;
}

export interface Door {
  colour: string;
  place: string;
}

export interface World {
  characters: Character[];
  places: Place[];
  doors: Door[];
  /** Every animal kind a pet of this world may be (for its actions). */
  animals: AnimalKind[];
}

export interface WorldSize {
  characters: number;
  places: number;
  doors: number;
}

export const DEFAULT_WORLD_SEED = 20240611;
export const DEFAULT_WORLD_SIZE: WorldSize = { characters: 12, places: 8, doors: 6 };

/** A deterministic world: a seed always gives the same characters, homes, pets and doors. */
export function buildWorld(seed = DEFAULT_WORLD_SEED, size: WorldSize = DEFAULT_WORLD_SIZE): World {
  if (size.characters % 2 !== 0) throw new Error('buildWorld: characters must be even (best friends come in pairs)');
  if (size.doors > size.places) throw new Error('buildWorld: more doors than places');
  const rng = new Rng(seed);
  const places = rng.sample(PLACES, size.places);
  const landmarks = rng.sample(LANDMARKS, size.places);
  const people = rng.sample(PEOPLE, size.characters);
  const animals = rng.sample(ANIMALS, size.characters);
  const petNames = rng.sample(PET_NAMES, size.characters);
  const characters: Character[] = people.map((p, i) => ({
    name: p.name,
    gender: p.gender,
    age: rng.range(5, 12),
    home: rng.pick(places),
    pet: { name: petNames[i]!, species: animals[i]!.species },
    colour: rng.pick(COLOURS),
    friend: '',
  }));
  // best friends: consecutive pairs of a shuffled order
  const order = rng.shuffle(characters);
  for (let i = 0; i < order.length; i += 2) {
    order[i]!.friend = order[i + 1]!.name;
    order[i + 1]!.friend = order[i]!.name;
  }
  const doorColours = rng.sample(COLOURS, size.doors);
  const doorPlaces = rng.sample(places, size.doors);
  return {
    characters,
    places: places.map((name, i) => ({ name, landmark: landmarks[i]! })),
    doors: doorColours.map((colour, i) => ({ colour, place: doorPlaces[i]! })),
    animals: [...animals],
  };
}

/** The world with extra characters, places and doors (for demos); the base facts are unchanged. */
export function extendWorld(world: World, extra: Partial<World>): World {
  return {
    characters: [...world.characters, ...(extra.characters ?? [])],
    places: [...world.places, ...(extra.places ?? [])],
    doors: [...world.doors, ...(extra.doors ?? [])],
    animals: [...world.animals, ...(extra.animals ?? [])],
  };
}

export function characterByName(world: World, name: string): Character {
  const c = world.characters.find((x) => x.name === name);
  if (!c) throw new Error(`no character ${name}`);
  return c;
}

export function animalKind(world: World, species: string): AnimalKind {
  const a = world.animals.find((x) => x.species === species);
  if (!a) throw new Error(`no animal ${species}`);
  return a;
}
