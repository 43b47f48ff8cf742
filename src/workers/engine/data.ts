/** Training data in the worker: the built-in demos, and text tokenised with the loaded model's tokenizer. */
import { buildDemos, type DemoDataset } from '../../corpus/demos.ts';
import { prepareData } from '../../train/data.ts';
import type { PackedWindow } from '../../train/packing.ts';
import { decodeDataText } from '../../train/utf8.ts';
import type { DataSource, DataSummary, DemoSummary } from '../protocol.ts';
import type { DataSplit } from '../../schema/data.ts';
import { EngineRefusal, engine, errorEvent, post, requireModel, requireTokenizer, type Data } from './state.ts';

let demos: DemoDataset[] | null = null;

/** The demos, generated on first use (about half a second). */
function allDemos(): DemoDataset[] {
  demos ??= buildDemos();
  return demos;
}

export function handleListDemos(id: number): void {
  try {
    const list: DemoSummary[] = allDemos().map((d) => ({
      id: d.id,
      title: d.title,
      description: d.description,
      fileName: d.fileName,
      records: d.records,
      bytes: new TextEncoder().encode(d.jsonl).length,
    }));
    post({ type: 'demos', id, demos: list });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

/** Tokenise, pack and split `text`; the result replaces the data the worker holds. */
export function prepare(fileName: string, text: string, format: Data['format'], source: Data['source'], split: DataSplit): Data {
  const loaded = requireModel();
  const tokenizer = requireTokenizer(loaded);
  if (split.seqLen > loaded.model.config.maxSeqLen) {
    throw new EngineRefusal(`Sequence length ${split.seqLen} is longer than the model's context (${loaded.model.config.maxSeqLen}).`, 'config');
  }
  const prepared = prepareData(fileName, text, tokenizer, {
    seqLen: split.seqLen,
    evalFraction: split.evalFraction,
    seed: split.seed,
    format,
  });
  const summary: DataSummary = { source, stats: prepared.stats, warnings: prepared.warnings, warningCounts: prepared.warningCounts, split };
  const data: Data = { fileName, text, format, source, split, prepared, summary };
  engine.data = data;
  return data;
}

/** The text behind a data source: a demo's JSONL, the text the UI sent, or a file's bytes decoded as UTF-8 (DataError if they are not). */
export function sourceText(source: DataSource): Pick<Data, 'fileName' | 'text' | 'format' | 'source'> {
  if (source.kind === 'demo') {
    const demo = allDemos().find((d) => d.id === source.id);
    if (!demo) throw new EngineRefusal(`There is no built-in dataset "${source.id}".`, 'data');
    return { fileName: demo.fileName, text: demo.jsonl, format: 'jsonl', source: 'demo' };
  }
  const text = source.kind === 'file' ? decodeDataText(source.fileName, source.bytes) : source.text;
  return { fileName: source.fileName, text, format: source.format, source: 'text' };
}

/**
 * Forgetting-probe windows of `seqLen` tokens: all of the text, nothing held out, tokenised like
 * training data (the engine's training data is left as it is).
 */
export function probeWindows(d: Pick<Data, 'fileName' | 'text' | 'format'>, seqLen: number): PackedWindow[] {
  const tokenizer = requireTokenizer(requireModel());
  return prepareData(d.fileName, d.text, tokenizer, { seqLen, evalFraction: 0, seed: 0, format: d.format }).train;
}

export function handlePrepareData(id: number, source: DataSource, split: DataSplit): void {
  try {
    const d = sourceText(source);
    const data = prepare(d.fileName, d.text, d.format, d.source, split);
    post({ type: 'dataPrepared', id, data: data.summary });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

/** Whether two splits cut the data the same way. */
export function sameSplit(a: DataSplit, b: DataSplit): boolean {
  return a.seqLen === b.seqLen && a.evalFraction === b.evalFraction && a.seed === b.seed;
}
