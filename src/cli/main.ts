/** The Subspace command line: the same engine as the studio, in Node on Dawn. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type Values } from './args.ts';
import { runConvert } from './convert.ts';
import { EXPORT_LORA_OPTIONS, EXPORT_ONNX_OPTIONS, runExportLora, runExportOnnx } from './export.ts';
import { runGenerate } from './generate.ts';
import { HUB_OPTIONS } from './model-arg.ts';
import { REPRODUCE_OPTIONS, runReproduce } from './reproduce.ts';
import { runSpectrum, SPECTRUM_OPTIONS } from './spectrum.ts';
import { INIT_OPTIONS, runInit, runTrain, TRAIN_OPTIONS } from './train.ts';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  generate --model <file, dir or hf:repo> [--tokenizer <file>] [--adapter <dir>] [--prompt "text"]
           [--max-tokens N] [--temperature T] [--top-p P] [--seed S] [--json]
      Generate text. --json prints {"ids": [...], "text": "..."} (ids include BOS). --adapter takes a
      peft LoRA directory or a MoRA adapter directory written by train/init.
  train    --model <file, dir or hf:repo> [--tokenizer <file>] --data <file.txt|file.jsonl> --method full|lora|dora|mora|pissa|milora
           [--rank R] [--alpha A] [--rslora] [--dropout P] [--targets q,k,v,o,gate,up,down|all-linear]
           [--mora-type 1|6] [--lr LR] [--steps N] [--batch B] [--seq T] [--grad-accum K] [--warmup W]
           [--schedule cosine|linear|constant] [--weight-decay WD] [--max-grad-norm G] [--seed S]
           [--eval-every N] [--eval-batches N] [--eval-fraction F] [--adapter <dir>]
           [--spectra-every N] [--spectra-layers 0,4] [--spectra-modules q,v] [--spectra-budget-ms MS]
           [--pissa-niter K] [--checkpoint-every N] [--probe <file.txt|file.jsonl>] [--recompute] [--gpu-budget MiB] [--merged-f32] --out <dir>
  train    --resume <out> --model <file, dir or hf:repo> [--tokenizer <file>] --data <file> [--probe <file>] [--steps N] [--checkpoint-every N]
      Fine-tune. Writes <out>/metrics.jsonl, <out>/adapter/ (peft format for LoRA and DoRA; the project's
      MoRA file for MoRA) and <out>/merged/ (Hugging Face layout). --spectra-every N appends
      {"step", "spectra": [{name, delta_rank90, overlap_principal, overlap_minor, delta_sigma (first 16)}], "spectra_ms"}
      to metrics.jsonl every N steps and at the end (default layers: first and last; modules: the targets; for full
      fine-tuning ΔW = W − W₀ against the loaded weights). Ctrl-C stops after the current step and
      saves. MoRA: one square M (r̂ × r̂, r̂² ≈ LoRA's parameter count at --rank) per target;
      --mora-type 1 = sharing (large ranks), 6 = rotation (small ranks, default).
      PiSSA / MiLoRA: LoRA initialised from the top / bottom r singular triplets of each target (base becomes
      W − s·B·A); <out>/adapter is converted (r → 2r) so it applies to the ORIGINAL base model.
      Checkpoints: <out>/checkpoint/ (trainer.safetensors: trainable tensors, AdamW moments, PiSSA/MiLoRA's
      A₀, B₀; state.json: step, settings, model fingerprint, data sha256) is written at the end, on Ctrl-C and,
      with --checkpoint-every N, every N steps. --resume <out> continues that run with its own settings on the
      same model and data (both checked), bit for bit as if it had not stopped; --steps N raises the total
      (e.g. to train a finished run further; the lr schedule then stretches to the new total). metrics.jsonl is
      cut back to the checkpoint and appended to.
      GPU memory: the estimate is printed before training; --recompute keeps only each layer's input and recomputes
      the layer in backward (same results, less memory, about a third more compute); --gpu-budget MiB turns it on
      when storing the activations would exceed the budget, and warns when the run still does not fit. Every step
      line of metrics.jsonl (and each spectra line) carries "peak_gpu_bytes", the buffer pool's peak so far;
      run.json ends with "peak_gpu_bytes" and "estimated_gpu_bytes".
      merged/ keeps the dtype of the loaded file: matrices stored in BF16 or F16 are written in it again
      (rounded to nearest even after the update is added); --merged-f32 writes every tensor in F32.
      --probe <file>: a forgetting probe, text the base model already knew, tokenised like --data (same --seq,
      nothing held out; at most --eval-batches batches). Its loss is measured at step 0 (before training) and with
      every eval: metrics.jsonl gets {"step": 0, "eval_loss", "probe_loss"} and "probe_loss" next to every
      "eval_loss"; run.json gets "probe" {file, windows, tokens} and the final "probe_loss". A probed run resumes
      with the same --probe file (its sha256 is in state.json).
  init     --model <file, dir or hf:repo> [--tokenizer <file>] --method lora|dora|mora|pissa|milora [--rank R] [--alpha A] [--rslora]
           [--dropout P] [--targets ...] [--seed S] [--mora-type 1|6] [--merged-f32] --out <dir>
      Write <out>/adapter/: the freshly initialised adapter a training run would start from.
      PiSSA / MiLoRA also write <out>/residual/ (HF layout in the file's dtype, or F32 with --merged-f32; targets replaced by W − s·B·A); the unconverted
      <out>/adapter/ applies to that residual model only (init_lora_weights true, not "pissa").
  spectrum --model <file, dir or hf:repo> [--tokenizer <file>] [--adapter <dir> | --base <file or dir>] [--layers 0,1|all] [--modules q,v|all-linear] [--json]
      Singular values per linear module: "sigma" of W₀ and, with --adapter, "delta_sigma" of ΔW, "sigma_merged" of
      W₀ + ΔW, "delta_rank90" (rank holding 90% of Σσ²(ΔW)) and "overlap_principal"/"overlap_minor" (overlap of ΔW's
      top-r singular subspaces with W₀'s top-r / bottom-r ones, r = LoRA rank). --json prints one JSON array of records.
      --base <model>: --model was fully fine-tuned from it (e.g. train --method full's <out>/merged): W₀ is the base's
      weight and ΔW = W − W₀ (r = max(1, delta_rank90)).
  convert  --model <llama2.c .bin> --tokenizer <tokenizer.bin> --out <dir>
      Write the model in Hugging Face layout (config.json, model.safetensors, tokenizer.json).
  export-onnx --model <file, dir or hf:repo> [--tokenizer <file>] [--adapter <dir>] [--dtype fp32|fp16] [--single-file] --out <dir>
      Write the folder transformers.js and onnxruntime-web load: config.json, generation_config.json,
      tokenizer.json, tokenizer_config.json and onnx/model.onnx (onnx/model_fp16.onnx for fp16; weights in
      onnx/<model>_data above 2 GB, or refused with --single-file), the adapter merged in. Inputs input_ids, attention_mask, position_ids,
      past_key_values.N.key/value; outputs logits, present.N.key/value (opset 17, standard ops).
  export-lora --model <file, dir or hf:repo> [--tokenizer <file>] --adapter <dir> | --tuned <merged dir> (--rank R | --energy E) --out <dir>
      Turn a MoRA or DoRA adapter, or a full fine-tune (ΔW = W − W₀ against --model), into a peft LoRA by SVD of
      each module's ΔW: the top R triplets, or the fewest holding fraction E of Σσ². Writes adapter_config.json,
      adapter_model.safetensors and conversion.json (rank, relative error ‖ΔW − BA‖/‖ΔW‖ and energy kept per module).
  reproduce mora-memory|milora|learn-forget|intruders [--model <file, dir or hf:repo>] [--tokenizer <file>] [--quick] [--seed S] --out <dir>
      A paper's finding reproduced (the studio's Lab presets): its runs in sequence, then <dir>/results.json
      ({"experiment", "paper", "runs": [{"name", "method", "settings", "trainable", "metrics"}], "findings":
      [{"claim", "paper", "ours", "held"}]}), <dir>/report.md and the charts (SVG). --model defaults to the
      built-in model; --quick runs a few steps on tiny shapes. The same --seed gives the same results.json.

Models from the Hugging Face Hub: wherever --model takes a file or dir (generate, train, init, spectrum, export-onnx,
export-lora, reproduce), hf:owner/name or hf:owner/name@revision (a branch, tag or commit; default main) downloads
the repo's config.json, model.safetensors (or its index and shards) and tokenizer files into a cache folder and
loads them from there. A repo already in the cache is not downloaded again (delete its folder to fetch a newer main).
  --hub-endpoint URL   the Hub to download from (default https://huggingface.co, or the HF_ENDPOINT environment variable)
  --hub-token TOKEN    access token for gated and private repos (or HF_TOKEN); sent only to the Hub endpoint, never
                       written to the cache or printed. Prefer HF_TOKEN: a token on the command line shows in the
                       process list, and npm run writes its command line to ~/.npm/_logs.
  --hub-cache DIR      the cache folder (default $XDG_CACHE_HOME/subspace/hub, else ~/.cache/subspace/hub)
`;

type Options = NonNullable<ParseArgsConfig['options']>;
/** `positional`: the option a command's one positional argument fills (e.g. reproduce's experiment). */
const commands: Record<string, { options: Options; run: (v: Values) => Promise<void>; positional?: string }> = {
  generate: {
    options: {
      model: { type: 'string' }, tokenizer: { type: 'string' }, prompt: { type: 'string' },
      'max-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-p': { type: 'string' },
      seed: { type: 'string' }, json: { type: 'boolean' }, adapter: { type: 'string' }, ...HUB_OPTIONS,
    },
    run: runGenerate,
  },
  train: { options: TRAIN_OPTIONS, run: runTrain },
  init: { options: INIT_OPTIONS, run: runInit },
  spectrum: { options: SPECTRUM_OPTIONS, run: runSpectrum },
  convert: {
    options: { model: { type: 'string' }, tokenizer: { type: 'string' }, out: { type: 'string' } },
    run: runConvert,
  },
  'export-onnx': { options: EXPORT_ONNX_OPTIONS, run: runExportOnnx },
  'export-lora': { options: EXPORT_LORA_OPTIONS, run: runExportLora },
  reproduce: { options: REPRODUCE_OPTIONS, run: runReproduce, positional: 'experiment' },
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
    const parsed = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: command.positional !== undefined });
    values = parsed.values as Values;
    if (command.positional) {
      if (parsed.positionals.length > 1) throw new UsageError(`${name} takes one ${command.positional}, got ${parsed.positionals.join(' ')}`);
      if (parsed.positionals[0] !== undefined) values[command.positional] = parsed.positionals[0];
    }
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
