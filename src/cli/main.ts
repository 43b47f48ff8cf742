/** The Subspace command line: the same engine as the studio, in Node on Dawn. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type Values } from './args.ts';
import { runConvert } from './convert.ts';
import { runGenerate } from './generate.ts';
import { runTrain, TRAIN_OPTIONS } from './train.ts';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  generate --model <file or dir> [--tokenizer <file>] [--adapter <dir>] [--prompt "text"]
           [--max-tokens N] [--temperature T] [--top-p P] [--seed S] [--json]
      Generate text. --json prints {"ids": [...], "text": "..."} (ids include BOS).
  train    --model <file or dir> [--tokenizer <file>] --data <file.txt|file.jsonl> --method full|lora
           [--rank R] [--alpha A] [--rslora] [--dropout P] [--targets q,k,v,o,gate,up,down|all-linear]
           [--lr LR] [--steps N] [--batch B] [--seq T] [--grad-accum K] [--warmup W]
           [--schedule cosine|linear|constant] [--weight-decay WD] [--max-grad-norm G] [--seed S]
           [--eval-every N] [--eval-batches N] [--eval-fraction F] [--adapter <dir>] --out <dir>
      Fine-tune. Writes <out>/metrics.jsonl, <out>/adapter/ (peft format, LoRA) and <out>/merged/
      (Hugging Face layout). Ctrl-C stops after the current step and saves.
  convert  --model <llama2.c .bin> --tokenizer <tokenizer.bin> --out <dir>
      Write the model in Hugging Face layout (config.json, model.safetensors, tokenizer.json).
`;

type Options = NonNullable<ParseArgsConfig['options']>;
const commands: Record<string, { options: Options; run: (v: Values) => Promise<void> }> = {
  generate: {
    options: {
      model: { type: 'string' }, tokenizer: { type: 'string' }, prompt: { type: 'string' },
      'max-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-p': { type: 'string' },
      seed: { type: 'string' }, json: { type: 'boolean' }, adapter: { type: 'string' },
    },
    run: runGenerate,
  },
  train: { options: TRAIN_OPTIONS, run: runTrain },
  convert: {
    options: { model: { type: 'string' }, tokenizer: { type: 'string' }, out: { type: 'string' } },
    run: runConvert,
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  let values: Values;
  try {
    values = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false }).values as Values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  await command.run(values);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`error: ${e.message}\n`);
    if (process.env.SUBSPACE_DEBUG) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
