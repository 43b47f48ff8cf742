/**
 * `cli reproduce mora-memory|milora|learn-forget|intruders [--model <path>] [--quick] [--seed S] --out <dir>`:
 * one of the Lab's paper reproductions on the same engine as the studio. Writes <dir>/report.md,
 * <dir>/results.json and the charts (SVG). The same seed gives the same results.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelPath } from '../io/fs-node.ts';
import { labTexts } from '../lab/base-text.ts';
import { EXPERIMENT_IDS, type ExperimentId } from '../lab/types.ts';
import { experimentById } from '../lab/experiments.ts';
import { reportFiles } from '../lab/report.ts';
import { labModelInfo, reproduce, scaleOf } from '../lab/reproduce.ts';
import { optionalNumber, optionalString, requireString, UsageError, type Values } from './args.ts';
import { openGpu } from '../kernels/node-gpu.ts';
import { HUB_OPTIONS, parseHubModel, resolveModelArg } from './model-arg.ts';

export const REPRODUCE_OPTIONS = {
  experiment: { type: 'string' }, model: { type: 'string' }, tokenizer: { type: 'string' }, quick: { type: 'boolean' },
  seed: { type: 'string' }, out: { type: 'string' }, ...HUB_OPTIONS,
} as const;

/** The built-in model's directory: its held-out corpus text is the forgetting probe. */
export const BUILT_IN_MODEL = fileURLToPath(new URL('../../public/models/tinyworld', import.meta.url));

export async function runReproduce(v: Values): Promise<void> {
  const id = optionalString(v, 'experiment');
  if (!id) throw new UsageError(`reproduce needs an experiment: ${EXPERIMENT_IDS.join(', ')}`);
  if (!EXPERIMENT_IDS.includes(id as ExperimentId)) throw new UsageError(`unknown experiment "${id}": use ${EXPERIMENT_IDS.join(', ')}`);
  const out = requireString(v, 'out');
  const quick = v.quick === true;
  const seed = optionalNumber(v, 'seed', { integer: true }) ?? 0;
  const modelPath = await resolveModelArg(v, { fallback: BUILT_IN_MODEL });
  const builtIn = path.resolve(modelPath) === path.resolve(BUILT_IN_MODEL);
  const loaded = await readModelPath(modelPath, optionalString(v, 'tokenizer'));
  if (!loaded.tokenizer) throw new UsageError(`no tokenizer found for ${modelPath}: pass --tokenizer <tokenizer.bin or tokenizer.json>`);
  const tokenizer = loaded.tokenizer;
  const exp = experimentById(id);
  const info = labModelInfo(loaded.base, builtIn ? 'the built-in model' : parseHubModel(optionalString(v, 'model') ?? '')?.repo ?? path.basename(modelPath));

  const gpu = await openGpu();
  try {
    const texts = await labTexts({ gpu, base: loaded.base, tokenizer, builtIn, quick, seed });
    const t0 = performance.now();
    let lastLine = 0;
    const results = await reproduce(id as ExperimentId, quick, {
      gpu, base: loaded.base, tokenizer, seed, texts,
      onProgress(p) {
        const now = performance.now();
        if (p.step === 0 || p.step === p.steps || now - lastLine > 2000) {
          lastLine = now;
          process.stderr.write(`run ${p.run + 1}/${p.runs} ${p.name}: step ${p.step}/${p.steps} (${((now - t0) / 1000).toFixed(0)} s)\n`);
        }
      },
    }, info);
    const files = reportFiles(exp, results, scaleOf(exp, info, quick));
    await mkdir(out, { recursive: true });
    for (const [name, text] of files) await writeFile(path.join(out, name), text);
    for (const f of results.findings) process.stderr.write(`${f.held ? 'held' : 'did not hold'}: ${f.claim}\n  paper: ${f.paper}\n  ours: ${f.ours}\n`);
    process.stderr.write(`wrote ${[...files.keys()].map((f) => path.join(out, f)).join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  } finally {
    gpu.destroy();
  }
}
