/** Small grammar helpers for the templates: articles, pronouns, slot filling, capitalisation. */
import type { Gender } from './world.ts';

/** "a" or "an" for the word or number that follows ("an owl", "an 8-year-old", "a 10-year-old"). */
export function article(next: string): 'a' | 'an' {
  if (/^[aeiou]/i.test(next)) return 'an';
  if (/^(8|11|18)(\D|$)/.test(next)) return 'an';
  return 'a';
}

/** Pronouns and nouns that agree with a character's gender. */
export function pronouns(gender: Gender): { he: string; his: string; him: string; kid: string } {
  return gender === 'f'
    ? { he: 'she', his: 'her', him: 'her', kid: 'girl' }
    : { he: 'he', his: 'his', him: 'him', kid: 'boy' };
}

export type Vars = Readonly<Record<string, string | number>>;

/**
 * Fills "{slot}" from `vars`; "{a_slot}" is the slot with its article ("{a_species}" → "an owl").
 * Throws on a missing slot, so a template typo fails loudly instead of printing braces.
 */
export function fill(template: string, vars: Vars): string {
  return template.replace(/\{(a_)?(\w+)\}/g, (_, a: string | undefined, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new Error(`template "${template}": no value for {${key}}`);
    const s = String(v);
    return a ? `${article(s)} ${s}` : s;
  });
}

/** Upper-cases the first letter (after any leading quote): sentences start with a capital. */
export function capitalize(s: string): string {
  return s.replace(/^("?)([a-z])/, (_, q: string, c: string) => q + c.toUpperCase());
}

/** A filled, capitalised sentence. */
export function sentence(template: string, vars: Vars): string {
  return capitalize(fill(template, vars));
}
