/**
 * What the studio's form shows is what trains: invalid field text and data that is not the shown
 * mode's block Start by name (the store, without an engine), and the run status line's words.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { dataBlocker, pasteSource } from '../../src/store/data-slice.ts';
import { useAppStore } from '../../src/store/store.ts';
import type { DataSummary } from '../../src/workers/protocol.ts';
import { statusState, statusText } from '../../src/ui/train/run-status.ts';

const initial = useAppStore.getState();
const SUMMARY = { source: 'text' } as DataSummary; // only its presence matters here
const DEMO = { kind: 'demo', id: 'new-facts' } as const;

beforeEach(() => useAppStore.setState(initial, true));

describe('the data panel blocks Start until its shown data is what the engine holds', () => {
  test('"Paste text" chosen and empty (or blank) says so, never falling back to the demo the engine still has', () => {
    useAppStore.setState({ dataSource: DEMO, dataSourceMode: 'demo', modeSources: { demo: DEMO }, dataSummary: SUMMARY });
    expect(dataBlocker(useAppStore.getState())).toBeNull();
    useAppStore.getState().setDataMode('paste'); // no model: nothing is sent to an engine
    expect(dataBlocker(useAppStore.getState())).toBe('Paste some text to train on.');
    useAppStore.getState().setPasteText(' \n\t\n');
    expect(dataBlocker(useAppStore.getState())).toBe('Paste some text to train on.');
    useAppStore.getState().setPasteText('Once upon a time.');
    expect(dataBlocker(useAppStore.getState())).toBe('Click Tokenise to train on the pasted text.');
  });

  test('the tokenised paste trains; once edited, or its format changed, it must be tokenised again', () => {
    const text = 'Once upon a time.\n\nThe end.';
    useAppStore.setState({ dataMode: 'paste', pasteText: text, dataSource: pasteSource(text, 'auto'), dataSourceMode: 'paste', dataSummary: SUMMARY });
    expect(dataBlocker(useAppStore.getState())).toBeNull();
    useAppStore.getState().setPasteText(`${text}!`);
    expect(dataBlocker(useAppStore.getState())).toBe('The pasted text changed since it was tokenised: click Tokenise to train on it.');
    useAppStore.getState().setPasteText(text);
    useAppStore.getState().setPasteFormat('jsonl');
    expect(dataBlocker(useAppStore.getState())).toBe('The pasted text changed since it was tokenised: click Tokenise to train on it.');
  });

  test('pasted text is JSONL when its first non-blank line opens an object', () => {
    expect(pasteSource('\n {"text": "a"}', 'auto')).toEqual({ kind: 'text', fileName: 'pasted.jsonl', text: '\n {"text": "a"}', format: 'jsonl' });
    expect(pasteSource('{"text": "a"}', 'text').fileName).toBe('pasted.txt');
  });

  test('upload mode with no file, a failed file, and one still tokenising each block', () => {
    useAppStore.setState({ dataSource: DEMO, dataSourceMode: 'demo', dataSummary: SUMMARY, dataMode: 'file' });
    expect(dataBlocker(useAppStore.getState())).toBe('Upload a .txt or .jsonl file to train on.');
    const file = { kind: 'text', fileName: 'notes.txt', text: 'abc', format: 'auto' } as const;
    useAppStore.setState({ dataSource: file, dataSourceMode: 'file', dataPreparing: true, dataSummary: null });
    expect(dataBlocker(useAppStore.getState())).toBe('Tokenising the data…');
    useAppStore.setState({ dataPreparing: false, dataError: { message: 'notes.txt: not UTF-8', file: 'notes.txt' } });
    expect(dataBlocker(useAppStore.getState())).toBe('Fix the training data first.');
  });

  test('switching back to a mode brings its own data back (no model here: only the record)', () => {
    useAppStore.setState({ dataSource: DEMO, dataSourceMode: 'demo', modeSources: { demo: DEMO }, dataSummary: SUMMARY });
    useAppStore.getState().setDataMode('file');
    expect(useAppStore.getState().modeSources).toEqual({ demo: DEMO });
    expect(dataBlocker(useAppStore.getState())).toBe('Upload a .txt or .jsonl file to train on.');
    useAppStore.getState().setDataMode('demo');
    expect(dataBlocker(useAppStore.getState())).toBeNull();
  });
});

describe('field text that is not a valid value', () => {
  test('is kept by field until it is valid again, in the order the fields went wrong', () => {
    const { setFieldDraft } = useAppStore.getState();
    setFieldDraft('rank', { label: 'Rank', raw: '0', error: 'At least 1.' });
    setFieldDraft('lr', { label: 'Learning rate', raw: 'abc', error: 'Enter a number.' });
    expect(Object.values(useAppStore.getState().fieldDrafts).map((d) => `${d.label}: ${d.error}`)).toEqual(['Rank: At least 1.', 'Learning rate: Enter a number.']);
    setFieldDraft('rank', null);
    expect(Object.keys(useAppStore.getState().fieldDrafts)).toEqual(['lr']);
    expect(useAppStore.getState().trainConfig.rank).toBe(initial.trainConfig.rank); // the last valid value, untouched
  });

  test('makes startRun refuse, so a run never trains the last valid value the field does not show', async () => {
    useAppStore.setState({ dataSource: DEMO, dataSourceMode: 'demo', dataSummary: SUMMARY });
    useAppStore.getState().setFieldDraft('steps', { label: 'Steps', raw: '0', error: 'At least 1.' });
    await useAppStore.getState().startRun(); // would start the engine worker (absent in Node) if it went on
    expect(useAppStore.getState().runStatus).toBe('idle');
  });
});

describe('the run status line', () => {
  test('says what the engine does: starting stage, finishing after the last step, stopped or finished', () => {
    expect(statusText('idle', null, null, null)).toBe('Not started');
    expect(statusText('starting', 'SVD 2 of 8 done (model.layers.0.self_attn.v_proj)', null, null)).toBe('SVD 2 of 8 done (model.layers.0.self_attn.v_proj)');
    expect(statusText('running', null, null, null)).toBe('Running');
    expect(statusText('paused', null, null, null)).toBe('Paused');
    const finishing = 'Finishing (final eval, spectra, checkpoint)';
    expect(statusText('running', null, finishing, null)).toBe(finishing);
    expect(statusState('running', finishing)).toBe('finishing');
    expect(statusText('stopping', null, 'Stopping (final eval, checkpoint)', null)).toBe('Stopping (final eval, checkpoint)');
    const result = { steps: 3, ms: 10, finalLoss: 1, evalLoss: null };
    expect(statusText('finished', null, null, { ...result, reason: 'stopped' })).toBe('Stopped');
    expect(statusText('finished', null, null, { ...result, reason: 'completed' })).toBe('Finished');
    expect(statusState('finished', null)).toBe('finished');
  });
});
