/** Errors raised while reading model, config and tokenizer files, each naming the file at fault. */

/** What went wrong, so tests and the UI can branch without parsing messages. */
export type ModelFileErrorCode =
  | 'truncated' // the file ends before the data its header promises
  | 'header-out-of-range' // a length in the header points past the end of the file
  | 'offsets' // tensor data offsets out of range, overlapping or malformed
  | 'dtype' // a tensor element type we cannot read
  | 'byte-count' // a tensor's byte count does not match shape × element size
  | 'missing-tensor' // a tensor the model needs is absent
  | 'config' // architecture numbers missing, nonsensical or inconsistent with the tensors
  | 'json' // a JSON file (or header) that does not parse
  | 'format' // not the kind of file expected (wrong architecture, garbage bytes, extra data)
  | 'missing-file' // a file the model needs is not among those given
  | 'too-big' // more than the format can hold in one file

/** A model/config/tokenizer file that cannot be used; the message starts with the file name. */
export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly code: ModelFileErrorCode = 'format',
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ModelFileError';
  }
}
