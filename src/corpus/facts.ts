/**
 * The world's facts as data: each kind has several phrasings (all true statements of the same fact)
 * and one probe phrasing, where "|" splits the probe prompt from the completion a model that knows
 * the fact should produce ("Mira lives in the| harbour town.").
 */
import { fill, pronouns, sentence, type Vars } from './grammar.ts';
import type { Character, World } from './world.ts';
import type { Rng } from './rng.ts';

export type FactKind = 'home' | 'pet' | 'colour' | 'age' | 'friend' | 'landmark' | 'door';

export interface FactTemplates {
  phrasings: readonly string[];
  probe: string;
}

export const FACT_TEMPLATES: Readonly<Record<FactKind, FactTemplates>> = {
  home: {
    phrasings: ['{name} lives in the {home}.', "{name}'s home is in the {home}.", 'The {home} is where {name} lives.'],
    probe: '{name} lives in the| {home}.',
  },
  pet: {
    phrasings: ['{name} has {a_species} named {pet}.', "{name}'s {species} is called {pet}.", "The {species}'s name is {pet}.", "{pet} is {name}'s {species}."],
    probe: '{name} has| {a_species} named {pet}.',
  },
  colour: {
    phrasings: ["{name}'s favourite colour is {colour}.", '{name} loves the colour {colour}.'],
    probe: "{name}'s favourite colour is| {colour}.",
  },
  age: {
    phrasings: ['{name} is {age} years old.', '{name} is {a_age}-year-old {kid}.'],
    probe: '{name} is| {age} years old.',
  },
  friend: {
    phrasings: ["{name}'s best friend is {friend}.", '{name} and {friend} are best friends.'],
    probe: "{name}'s best friend is| {friend}.",
  },
  landmark: {
    phrasings: ['The {place} has {a_landmark}.', 'There is {a_landmark} in the {place}.'],
    probe: 'The {place} has| {a_landmark}.',
  },
  door: {
    phrasings: ['The {colour} door opens to the {place}.', 'Behind the {colour} door is the {place}.'],
    probe: 'The {colour} door opens to the| {place}.',
  },
};

/** One fact: its kind, what it is about, and the slot values its templates need. */
export interface Fact {
  kind: FactKind;
  /** A character's name, a place, or "<colour> door". */
  subject: string;
  /** The fact's value: a home, "owl Tobi", a colour, an age, a friend, a landmark, a place. */
  value: string;
  vars: Vars;
}

/** Slot values describing a character (name, pronouns, home, pet, ...). */
export function characterVars(c: Character): Record<string, string | number> {
  return {
    name: c.name, ...pronouns(c.gender), age: c.age, home: c.home, pet: c.pet.name, species: c.pet.species,
    colour: c.colour, friend: c.friend,
  };
}

/** The five facts about a character. */
export function characterFacts(c: Character): Fact[] {
  const vars = characterVars(c);
  return [
    { kind: 'home', subject: c.name, value: c.home, vars },
    { kind: 'pet', subject: c.name, value: `${c.pet.species} ${c.pet.name}`, vars },
    { kind: 'colour', subject: c.name, value: c.colour, vars },
    { kind: 'age', subject: c.name, value: String(c.age), vars },
    { kind: 'friend', subject: c.name, value: c.friend, vars },
  ];
}

/** Every fact of a world: five per character, a landmark per place, a destination per door. */
export function worldFacts(world: World): Fact[] {
  return [
    ...world.characters.flatMap(characterFacts),
    ...world.places.map((p): Fact => ({ kind: 'landmark', subject: p.name, value: p.landmark, vars: { place: p.name, landmark: p.landmark } })),
    ...world.doors.map((d): Fact => ({ kind: 'door', subject: `${d.colour} door`, value: d.place, vars: { colour: d.colour, place: d.place } })),
  ];
}

/** All phrasings of a fact, as sentences. */
export function factSentences(fact: Fact): string[] {
  return FACT_TEMPLATES[fact.kind].phrasings.map((t) => sentence(t, fact.vars));
}

/** One phrasing of a fact, chosen by `rng`. */
export function factSentence(fact: Fact, rng: Rng): string {
  return sentence(rng.pick(FACT_TEMPLATES[fact.kind].phrasings), fact.vars);
}

/** The probe of a fact: a prompt and the completion that states the fact. */
export function factProbe(fact: Fact): { prompt: string; completion: string } {
  const [p, c] = FACT_TEMPLATES[fact.kind].probe.split('|') as [string, string];
  return { prompt: sentence(p, fact.vars), completion: fill(c, fact.vars) };
}

