/** The run configuration as a URL query: round trip, and bad values reported by name and left out. */
import { describe, expect, test } from 'vitest';
import { STUDIO_TRAIN_DEFAULTS } from '../../src/store/run-slice.ts';
import { configToQuery, queryToConfig } from '../../src/store/url-config.ts';
import type { TrainConfig } from '../../src/schema/train-config.ts';

const CHANGED: TrainConfig = {
  ...STUDIO_TRAIN_DEFAULTS,
  method: 'mora',
  rank: 12,
  alpha: 24.5,
  dropout: 0.05,
  targets: ['q', 'k', 'down'],
  moraType: 1,
  lr: 3e-4,
  schedule: 'cosine',
  warmup: 5,
  steps: 7,
  batch: 2,
  seq: 32,
  seed: 42,
  gradAccum: 3,
  weightDecay: 0.01,
  maxGradNorm: 0.5,
  recompute: true,
  evalEvery: 2,
  evalBatches: 1,
};

const URL_FIELDS = ['rank', 'alpha', 'rslora', 'dropout', 'targets', 'moraType', 'lr', 'schedule', 'warmup', 'steps', 'batch', 'seq', 'seed', 'gradAccum', 'weightDecay', 'maxGradNorm', 'evalEvery', 'evalBatches', 'recompute'] as const;

describe('url-config', () => {
  test('round trip: every field, the method row, the demo and the probe come back unchanged', () => {
    const query = configToQuery(CHANGED, { methodId: 'mora', demo: 'key-value', probe: 'forget-probe' });
    expect(query).toContain('targets=q,k,down'); // readable, not %2C
    const { config, extras, errors } = queryToConfig(`?${query}`);
    expect(errors).toEqual([]);
    expect(extras).toEqual({ methodId: 'mora', demo: 'key-value', probe: 'forget-probe' });
    expect(queryToConfig('probe=none').extras).toEqual({ probe: 'none' });
    expect(queryToConfig('probe=../x').errors).toEqual(['probe: "../x" is not a demo dataset id or "none"; the default is kept.']);
    for (const key of URL_FIELDS) expect(config[key], key).toEqual(CHANGED[key]);
    expect(Object.keys(config).sort()).toEqual([...URL_FIELDS].sort());
  });

  test('rsLoRA survives as its own row; a LoRA link with rslora=1 means rsLoRA', () => {
    const rs = queryToConfig(configToQuery({ ...STUDIO_TRAIN_DEFAULTS, rslora: true }, { methodId: 'rslora' }));
    expect(rs.extras.methodId).toBe('rslora');
    expect(rs.config.rslora).toBe(true);
    expect(queryToConfig('method=lora&rslora=1').extras.methodId).toBe('rslora');
    expect(queryToConfig('method=lora&rslora=0').extras.methodId).toBe('lora');
  });

  test('recompute: 1 and 0 are the user\'s choice, auto (what a studio deciding by the estimate writes) leaves it out of the config', () => {
    expect(configToQuery({ ...STUDIO_TRAIN_DEFAULTS, recompute: true })).toContain('recompute=1');
    expect(configToQuery({ ...STUDIO_TRAIN_DEFAULTS, recompute: false })).toContain('recompute=0');
    expect(configToQuery({ ...STUDIO_TRAIN_DEFAULTS, recompute: true }, { recomputeAuto: true })).toContain('recompute=auto');
    expect(queryToConfig('recompute=0').config).toEqual({ recompute: false });
    const auto = queryToConfig('recompute=auto');
    expect(auto.config).toEqual({});
    expect(auto.extras).toEqual({ recomputeAuto: true });
    expect(queryToConfig('recompute=yes').errors).toEqual(['recompute: "yes" must be 1, 0 or auto; the default is kept.']);
  });

  test('a partial query gives only its fields', () => {
    const { config, extras, errors } = queryToConfig('?method=lora&rank=4&steps=2&seq=32&batch=1');
    expect(errors).toEqual([]);
    expect(extras).toEqual({ methodId: 'lora' });
    expect(config).toEqual({ rank: 4, steps: 2, seq: 32, batch: 1 });
  });

  test('invalid and unknown values are reported by name and left out', () => {
    const { config, extras, errors } = queryToConfig(
      'rank=-3&alpha=0&dropout=2&lr=abc&steps=1.5&schedule=weird&moraType=3&targets=q,zz&rslora=maybe&method=gpt&demo=../x&colour=red&batch=2',
    );
    expect(config).toEqual({ batch: 2 }); // the one good value
    expect(extras).toEqual({});
    const byName = (name: string) => errors.find((e) => e.startsWith(`${name}:`));
    expect(byName('rank')).toBe('rank: "-3" must be at least 1; the default is kept.');
    expect(byName('alpha')).toBe('alpha: "0" must be more than 0; the default is kept.');
    expect(byName('dropout')).toBe('dropout: "2" must be at most 0.99; the default is kept.');
    expect(byName('lr')).toBe('lr: "abc" is not a number; the default is kept.');
    expect(byName('steps')).toBe('steps: "1.5" must be a whole number; the default is kept.');
    expect(byName('schedule')).toContain('must be one of constant, cosine, linear');
    expect(byName('moraType')).toContain('must be 1 or 6');
    expect(byName('targets')).toContain('"q,zz"');
    expect(byName('rslora')).toContain('must be 1 or 0');
    expect(byName('method')).toContain('"gpt" is not a method');
    expect(byName('demo')).toContain('is not a demo dataset id');
    expect(byName('colour')).toBe('colour: not a setting the studio knows; ignored.');
    expect(errors).toHaveLength(12);
  });

  test('checkpoint-every and spectra-every travel as extras, 0 included; bad values are named', () => {
    const query = configToQuery(STUDIO_TRAIN_DEFAULTS, { methodId: 'lora', checkpointEvery: 0, spectraEvery: 3 });
    expect(query).toContain('checkpointEvery=0');
    expect(query).toContain('spectraEvery=3');
    const { config, extras, errors } = queryToConfig(query);
    expect(errors).toEqual([]);
    expect(extras).toEqual({ methodId: 'lora', checkpointEvery: 0, spectraEvery: 3 });
    expect(config).not.toHaveProperty('checkpointEvery');
    // Not given: nothing written, nothing read.
    const plain = configToQuery(STUDIO_TRAIN_DEFAULTS, { methodId: 'lora' });
    expect(plain).not.toContain('checkpointEvery');
    expect(plain).not.toContain('spectraEvery');
    const bad = queryToConfig('checkpointEvery=-1&spectraEvery=2.5');
    expect(bad.extras).toEqual({});
    expect(bad.errors).toEqual([
      'checkpointEvery: "-1" must be at least 0; the default is kept.',
      'spectraEvery: "2.5" must be a whole number; the default is kept.',
    ]);
  });

  test('an empty query is no settings and no errors', () => {
    expect(queryToConfig('')).toEqual({ config: {}, extras: {}, errors: [] });
    expect(queryToConfig('?')).toEqual({ config: {}, extras: {}, errors: [] });
  });
});
