/**
 * Sentence templates of the base corpus, as data. Slots (filled by generate.ts):
 *   protagonist: {name} {he} {his} {him} {kid} {age} {home} {pet} {species} {colour} {friend}
 *   scene:       {place} {landmark} (where the story is now)
 *   per line:    {dest} {doorColour} {obj} {objs} {thing} {o1} {o2} {o3} {n} {other}
 *                {petAction} {feeling} {feeling2} {time}
 * "{a_x}" is x with its article. Sentences are capitalised after filling, so "{he} ..." is fine.
 * No template may state a world fact except through facts.ts or with the protagonist's own values.
 */

export const TIMES: readonly string[] = ['morning', 'sunny morning', 'rainy morning', 'cold morning', 'windy day', 'summer day', 'winter day'];

export const OPENINGS: readonly string[] = [
  'Once upon a time, {name} lived in the {home}.',
  'One {time}, {name} woke up early in the {home}.',
  'This is a story about {name} and {his} {species}, {pet}.',
  '{name} is {a_age}-year-old {kid} who lives in the {home}.',
  'One {time}, {name} and {pet} the {species} went out to play.',
];

export const CLOSINGS: readonly string[] = [
  'In the evening, {name} went home to the {home}.',
  'At night, {name} went home to the {home} and fell asleep.',
  'It was a good day for {name}.',
  '{name} felt {feeling} and went to sleep.',
  'Then {name} and {pet} went home.',
];

/** What a body line needs from the story state and how it changes it. */
export type MoveId = 'walk' | 'walkFriend' | 'door' | 'look' | 'find' | 'useObj' | 'giveObj' | 'pet' | 'meet' | 'feel' | 'count' | 'bag' | 'weather' | 'fact';

export interface Move {
  id: MoveId;
  weight: number;
  templates: readonly string[];
}

export const MOVES: readonly Move[] = [
  {
    id: 'walk', weight: 3, templates: [
      '{name} walked to the {dest}.',
      'Then {he} went to the {dest}.',
      '{name} ran all the way to the {dest}.',
      'After that, {name} and {pet} walked to the {dest}.',
    ],
  },
  {
    id: 'walkFriend', weight: 1, templates: [
      '{name} and {friend} walked to the {dest}.',
      '{name} went to the {dest} with {his} best friend, {friend}.',
    ],
  },
  {
    id: 'door', weight: 1, templates: [
      '{name} opened the {doorColour} door and stepped into the {dest}.',
      'Behind the {doorColour} door, {name} found the {dest}.',
    ],
  },
  {
    id: 'look', weight: 2, templates: [
      '{he} looked at the {landmark}.',
      '{name} sat by the {landmark}.',
      '{name} liked the {landmark} in the {place}.',
    ],
  },
  {
    id: 'find', weight: 2, templates: [
      'There, {he} found {a_thing}.',
      '{name} saw {a_thing} near the {landmark}.',
      'Near the {landmark}, {name} found {a_thing}.',
      '{he} found {a_thing} on the ground.',
    ],
  },
  {
    id: 'useObj', weight: 2, templates: [
      '{he} picked up the {obj}.',
      '{name} showed the {obj} to {pet}.',
      '{he} put the {obj} in {his} bag.',
      'The {obj} was very old.',
    ],
  },
  {
    id: 'giveObj', weight: 1, templates: [
      '{name} gave the {obj} to {other}.',
      '{he} gave the {obj} to {friend}, and {friend} said thank you.',
    ],
  },
  {
    id: 'pet', weight: 2, templates: [
      '{pet} the {species} {petAction}.',
      '{pet} {petAction}.',
      '{name} fed {pet}.',
      '{name} played with {pet} by the {landmark}.',
      '{his} {species} {petAction}.',
    ],
  },
  {
    id: 'meet', weight: 2, templates: [
      '{name} met {other} by the {landmark}.',
      '"Hello, {other}!" said {name}.',
      '"Hello, {name}! How are you?" asked {other}.',
      '"Where is {pet}?" asked {other}.',
      '"You are my best friend," said {name} to {friend}.',
    ],
  },
  {
    id: 'feel', weight: 2, templates: [
      '{name} felt {feeling}.',
      '{he} was very {feeling}.',
      '{name} was {feeling} and {feeling2}.',
    ],
  },
  {
    id: 'count', weight: 1, templates: [
      '{he} counted {n} {objs} in the {place}.',
      '{name} saw {n} {objs} by the {landmark}.',
    ],
  },
  {
    id: 'bag', weight: 0.5, templates: ['In {his} bag, {name} had 3 things: {a_o1}, {a_o2} and {a_o3}.'],
  },
  {
    id: 'weather', weight: 1, templates: ['The sun was shining.', 'It started to rain.', 'The wind was cold.', 'It was a warm day.'],
  },
  // fact lines come from facts.ts; the templates here are unused placeholders for the table
  { id: 'fact', weight: 3, templates: [] },
];

/** Opening line of a place description. */
export const PLACE_INTROS: readonly string[] = ['This is the {place}.', 'Let me tell you about the {place}.'];

/** Opening line of a character description. */
export const CHARACTER_INTROS: readonly string[] = ['This is {name}.', 'Let me tell you about {name}.'];
