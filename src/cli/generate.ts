/** `cli generate`: sample text from a model on the Node GPU host. */
import { attachAdapterDir } from './adapter-dir.ts';
import { readModelPath } from '../io/fs-node.ts';
import { generate } from '../model/generate.ts';
import { loadModel } from '../model/load-checkpoint.ts';
import { optionalNumber, optionalString, requireString, UsageError, type Values } from './args.ts';
import { openGpu } from '../kernels/node-gpu.ts';
import { resolveModelArg } from './model-arg.ts';

export async function runGenerate(v: Values): Promise<void> {
  const modelPath = requireString(v, 'model');
  const options = {
    prompt: optionalString(v, 'prompt') ?? '',
    maxTokens: optionalNumber(v, 'max-tokens', { min: 0, integer: true }) ?? 256,
    temperature: optionalNumber(v, 'temperature', { min: 0 }) ?? 0,
    topP: optionalNumber(v, 'top-p', { min: 0, max: 1 }) ?? 0.9,
    seed: optionalNumber(v, 'seed', { integer: true }) ?? Date.now(),
  };
  if (options.topP === 0) throw new UsageError('--top-p must be greater than 0');
  const json = v.json === true;
  const { base, tokenizer } = await readModelPath(await resolveModelArg(v), optionalString(v, 'tokenizer'));
  if (!tokenizer) {
    throw new UsageError(`no tokenizer found for ${modelPath}: pass --tokenizer <tokenizer.bin or tokenizer.json>`);
  }
  const gpu = await openGpu();
  const { model } = await loadModel(gpu, base);
  const adapterDir = optionalString(v, 'adapter');
  if (adapterDir) await attachAdapterDir(model, adapterDir); // peft LoRA/DoRA or the MoRA file
  const result = await generate(model, tokenizer, options, json ? undefined : (piece) => process.stdout.write(piece));
  if (json) process.stdout.write(`${JSON.stringify({ ids: result.ids, text: result.text })}\n`);
  else process.stdout.write('\n');
  model.dispose();
  gpu.destroy();
}
