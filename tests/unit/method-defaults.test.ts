/**
 * Per-method defaults (docs/defaults.md): the measured lr and steps of each method row, applied when
 * the user switches method unless they changed that field themselves; the CLI follows the same table.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { TRAIN_OPTIONS, trainConfigFromArgs } from '../../src/cli/train.ts';
import { METHOD_ROWS, methodRow, switchMethod } from '../../src/store/methods.ts';
import { STUDIO_TRAIN_DEFAULTS } from '../../src/store/run-slice.ts';
import { useAppStore } from '../../src/store/store.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import { METHOD_DEFAULTS } from '../../src/schema/method-defaults.ts';

const initial = useAppStore.getState();
beforeEach(() => useAppStore.setState(initial, true));

const lrOf = () => useAppStore.getState().trainConfig.lr;
const stepsOf = () => useAppStore.getState().trainConfig.steps;

describe('the measured defaults', () => {
  test('each method row carries its lr and steps from the table; the engine and studio defaults are LoRA\'s, on windows of 128', () => {
    expect(Object.fromEntries(METHOD_ROWS.map((r) => [r.id, r.defaults]))).toEqual({
      full: { lr: 1e-3, steps: 50 },
      lora: { lr: 1e-2, steps: 100 },
      rslora: { lr: 3e-3, steps: 100 },
      pissa: { lr: 1e-2, steps: 100 },
      milora: { lr: 1e-2, steps: 100 },
      dora: { lr: 1e-2, steps: 100 },
      mora: { lr: 1e-2, steps: 100 },
    });
    expect(methodRow('rslora').defaults).toBe(METHOD_DEFAULTS.rslora);
    expect([DEFAULT_TRAIN_CONFIG.lr, DEFAULT_TRAIN_CONFIG.steps, DEFAULT_TRAIN_CONFIG.seq]).toEqual([1e-2, 100, 128]);
    expect([STUDIO_TRAIN_DEFAULTS.lr, STUDIO_TRAIN_DEFAULTS.steps, STUDIO_TRAIN_DEFAULTS.seq, STUDIO_TRAIN_DEFAULTS.batch]).toEqual([1e-2, 100, 128, 4]);
    expect(initial.methodId).toBe('lora');
    expect([initial.trainConfig.lr, initial.trainConfig.steps]).toEqual([1e-2, 100]);
  });
});

describe('switching method in the studio', () => {
  test('applies the new method\'s lr and steps while the user has not changed them', () => {
    const s = () => useAppStore.getState();
    s().setMethod('full');
    expect([s().trainConfig.method, lrOf(), stepsOf()]).toEqual(['full', 1e-3, 50]);
    s().setMethod('rslora');
    expect([s().trainConfig.method, s().trainConfig.rslora, lrOf(), stepsOf()]).toEqual(['lora', true, 3e-3, 100]);
    s().setMethod('lora');
    expect([s().trainConfig.rslora, lrOf(), stepsOf()]).toEqual([false, 1e-2, 100]);
  });

  test('keeps an lr the user typed, even one equal to a default, while steps still follow', () => {
    const s = () => useAppStore.getState();
    s().setTrainField('lr', 0.05);
    s().setMethod('full');
    expect([lrOf(), stepsOf()]).toEqual([0.05, 50]);
    s().setMethod('pissa');
    expect([lrOf(), stepsOf()]).toEqual([0.05, 100]);
    // typed back to LoRA's default: still the user's value, not replaced by full's 1e-3
    s().setMethod('lora');
    s().setTrainField('lr', 1e-2);
    s().setMethod('full');
    expect(lrOf()).toBe(1e-2);
    expect(s().editedFields).toEqual(['lr']);
  });

  test('a value typed into a field is the user\'s even when it is the value the field had', () => {
    const s = () => useAppStore.getState();
    s().setTrainField('lr', 1e-2); // typed "0.01" over LoRA's default 0.01: a choice, kept for full fine-tuning
    s().setMethod('full');
    expect(lrOf()).toBe(1e-2);
    expect(s().editedFields).toEqual(['lr']);
  });

  test('switchMethod keeps a value that is not the previous method\'s default (a link\'s, a loaded run\'s)', () => {
    const fromLink = { ...STUDIO_TRAIN_DEFAULTS, lr: 0.02, steps: 7 };
    expect(switchMethod(fromLink, 'lora', 'full')).toMatchObject({ method: 'full', lr: 0.02, steps: 7 });
    expect(switchMethod(STUDIO_TRAIN_DEFAULTS, 'lora', 'full')).toMatchObject({ method: 'full', lr: 1e-3, steps: 50 });
    expect(switchMethod(STUDIO_TRAIN_DEFAULTS, 'lora', 'full', ['steps'])).toMatchObject({ lr: 1e-3, steps: 100 });
    expect(switchMethod(STUDIO_TRAIN_DEFAULTS, 'lora', 'mora')).toMatchObject({ method: 'mora', lr: 1e-2, steps: 100, rslora: false });
  });
});

describe('the CLI', () => {
  const parse = (args: Record<string, string | boolean>) => trainConfigFromArgs(args);
  test('train --method M without --lr/--steps takes the method\'s defaults; flags still win', () => {
    expect(Object.keys(TRAIN_OPTIONS)).toContain('lr');
    expect([parse({}).method, parse({}).lr, parse({}).steps]).toEqual(['lora', 1e-2, 100]);
    expect([parse({ method: 'full' }).lr, parse({ method: 'full' }).steps]).toEqual([1e-3, 50]);
    expect([parse({ method: 'lora', rslora: true }).lr, parse({ method: 'lora', rslora: true }).steps]).toEqual([3e-3, 100]);
    expect(parse({ method: 'pissa' }).lr).toBe(1e-2);
    expect(parse({ method: 'mora' }).lr).toBe(1e-2);
    expect([parse({ method: 'full', lr: '5e-4', steps: '7' }).lr, parse({ method: 'full', lr: '5e-4', steps: '7' }).steps]).toEqual([5e-4, 7]);
  });
});
