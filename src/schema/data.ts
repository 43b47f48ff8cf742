/** The vocabulary of training data the engine, the CLI and the studio share: formats, problems, warnings, stats. */

/** The built-in datasets (src/corpus/demos.ts). */
export type DemoId = 'new-facts' | 'new-style' | 'key-value' | 'forget-probe';

export type DataFormat = 'text' | 'jsonl';

export type PackingMode = 'stream' | 'whole';

/** One bad line of a data file: its 1-based line, the field at fault when one is, and what is wrong. */
export interface DataProblem {
  line: number;
  field?: string;
  /** What is wrong, without the file and line, e.g. 'missing field "completion"'. */
  message: string;
}

export type DataWarningKind = 'truncated' | 'split' | 'skipped' | 'boundary';

export interface DataWarning {
  kind: DataWarningKind;
  line?: number;
  message: string;
}

/** A tokenised example for display. */
export interface DataSample {
  line: number;
  ids: number[];
  /** Text of each token alone; "<bos>"/"<eos>" for the special ids. */
  pieces: string[];
  mask: number[];
}

export interface DataStats {
  file: string;
  format: DataFormat;
  packing: PackingMode;
  /** Documents (plain text) or records (JSONL) kept as examples. */
  records: number;
  /** Tokens over all examples (BOS and EOS included, after truncation). */
  tokens: number;
  /** Targets the loss uses, over train and eval windows. */
  lossTokens: number;
  trainWindows: number;
  evalWindows: number;
  /** Windows dropped for having no target with loss. */
  droppedWindows: number;
  samples: DataSample[];
}

/** How the worker cuts the data: window length, held-out fraction and split seed. */
export interface DataSplit {
  seqLen: number;
  evalFraction: number;
  seed: number;
}
