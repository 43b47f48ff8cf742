/**
 * Measures what a default studio run does, per method, on the built-in model and its demos: for a
 * grid of learning rates it trains once to the largest step count (constant schedule, so the state
 * at step 50 of a 100-step run is a 50-step run's) and at each measured step records the eval
 * loss, the forgetting probe's loss and greedy completions of the demo's probe prompts. The result
 * is the table in docs/defaults.md, from which src/train/method-defaults.ts takes its numbers.
 *
 *   node --import tsx --import ./scripts/wgsl-loader.mjs scripts/measure-defaults.ts \
 *     [--methods full,lora,rslora,pissa,milora,dora,mora] [--lrs 1e-3,3e-3,1e-2,3e-2] [--steps 50,100] \
 *     [--demos new-facts,new-style] [--batch 4] [--seq 128] [--json out.json]
 *
 * "Recall" (new facts) is the share of the demo's fact probes ("Zara lives in the") whose greedy
 * completion starts with the taught fact; "pirate" (new style) is the share of pirate words
 * (th', an', be, arr, ye, matey, ...) among the words generated after the probe prompts.
 */
import { readAllWeights } from '../src/io/weight-source.ts';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openGpu } from '../src/kernels/node-gpu.ts';
import { buildDemos, PIRATE_WORDS, type DemoDataset } from '../src/corpus/demos.ts';
import { type DemoId } from '../src/schema/data.ts';
import { readModelPath } from '../src/io/fs-node.ts';
import type { Tokenizer } from '../src/io/tokenizer.ts';
import { generate } from '../src/model/generate.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../src/schema/train-config.ts';
import { prepareData } from '../src/train/data.ts';
import { BatchIterator, orderedBatches, type PackedWindow } from '../src/train/packing.ts';
import { Trainer } from '../src/train/trainer.ts';

const MODEL = new URL('../public/models/tinyworld', import.meta.url).pathname;
/** The studio's eval settings: at most 8 eval batches of the eval split and of the probe. */
const EVAL_BATCHES = 8;
/** Probe prompts completed per measurement, and the tokens generated for each. */
const PROMPTS = 8;
const FACT_TOKENS = 8;
const STYLE_TOKENS = 24;

type Variant = 'full' | 'lora' | 'rslora' | 'pissa' | 'milora' | 'dora' | 'mora';

/** The TrainConfig fields a variant sets (rsLoRA is LoRA with α/√r; MoRA type 6, the default). */
const VARIANT: Record<Variant, Partial<TrainConfig>> = {
  full: { method: 'full' }, lora: { method: 'lora' }, rslora: { method: 'lora', rslora: true },
  pissa: { method: 'pissa' }, milora: { method: 'milora' }, dora: { method: 'dora' }, mora: { method: 'mora', moraType: 6 },
};

interface Point {
  demo: DemoId;
  method: Variant;
  lr: number;
  step: number;
  evalLoss: number;
  probeLoss: number;
  /** Fact recall (new facts) or pirate-word share (new style), 0..1. */
  score: number;
  /** Greedy completions of the first two probe prompts. */
  samples: string[];
  seconds: number;
}

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

const { values: args } = parseArgs({
  options: {
    methods: { type: 'string', default: 'full,lora,rslora,pissa,milora,dora,mora' },
    lrs: { type: 'string', default: '1e-3,3e-3,1e-2,3e-2' },
    steps: { type: 'string', default: '50,100' },
    demos: { type: 'string', default: 'new-facts,new-style' },
    batch: { type: 'string', default: String(DEFAULT_TRAIN_CONFIG.batch) },
    seq: { type: 'string', default: String(DEFAULT_TRAIN_CONFIG.seq) },
    json: { type: 'string' },
  },
});
const methods = list(args.methods) as Variant[];
for (const m of methods) if (!(m in VARIANT)) throw new Error(`--methods: unknown method "${m}" (use ${Object.keys(VARIANT).join(', ')})`);
const lrs = list(args.lrs).map(Number);
const stepMarks = list(args.steps).map(Number).sort((a, b) => a - b);
const batch = Number(args.batch);
const seq = Number(args.seq);
const demoIds = list(args.demos) as DemoId[];

const loadedModel = await readModelPath(MODEL);
const { tokenizer } = loadedModel;
const weights = await readAllWeights(loadedModel.base);
if (!tokenizer) throw new Error(`${MODEL}: no tokenizer`);
const demos = buildDemos();
const demo = (id: DemoId): DemoDataset => {
  const d = demos.find((x) => x.id === id);
  if (!d) throw new Error(`--demos: no demo "${id}" (use ${demos.map((x) => x.id).join(', ')})`);
  return d;
};
/** The forgetting probe as the studio cuts it: every window, nothing held out. */
const probe = prepareData('forget-probe.jsonl', demo('forget-probe').jsonl, tokenizer, { seqLen: seq, evalFraction: 0 }).train;
const gpu = await openGpu();

/** Share of the demo's probes the model completes as taught (facts), or pirate-word share (style). */
async function score(model: LlamaModel, d: DemoDataset, tok: Tokenizer): Promise<{ score: number; samples: string[] }> {
  const probes = d.probes.slice(0, PROMPTS);
  const samples: string[] = [];
  let hits = 0, words = 0;
  for (const p of probes) {
    const maxTokens = d.id === 'new-facts' ? FACT_TOKENS : STYLE_TOKENS;
    const prompt = tok.decode(tok.encode(p.prompt, { bos: true })); // the prompt as the output text spells it
    const out = (await generate(model, tok, { prompt: p.prompt, maxTokens, temperature: 0 })).text.slice(prompt.length);
    samples.push(out);
    if (d.id === 'new-facts') {
      if (out.startsWith(p.completion.replace(/\.$/, ''))) hits++;
    } else {
      const ws = out.match(/[A-Za-z']+/g) ?? [];
      words += ws.length;
      hits += ws.filter((w) => PIRATE.has(w.toLowerCase())).length;
    }
  }
  return { score: d.id === 'new-facts' ? hits / probes.length : words ? hits / words : 0, samples: samples.slice(0, 2) };
}
const PIRATE = new Set([...Object.values(PIRATE_WORDS), 'arr', 'yo', 'ho'].map((w) => w.toLowerCase()));

const evalOn = (trainer: Trainer, windows: PackedWindow[]): Promise<number> =>
  trainer.evaluate([...orderedBatches(windows, batch, tokenizer.eosId)].slice(0, EVAL_BATCHES));

const points: Point[] = [];
const base: { demo: DemoId; evalLoss: number; probeLoss: number; score: number; samples: string[] }[] = [];
for (const id of demoIds) {
  const d = demo(id);
  const data = prepareData(d.fileName, d.jsonl, tokenizer, { seqLen: seq });
  const truncated = data.warningCounts.truncated;
  process.stderr.write(`${id}: ${data.stats.trainWindows} train / ${data.stats.evalWindows} eval windows of ${seq}${truncated ? `, ${truncated} truncated` : ''}\n`);
  {
    const model = LlamaModel.upload(gpu, weights);
    const t = Trainer.create(model, { ...DEFAULT_TRAIN_CONFIG, batch, seq });
    const s = await score(model, d, tokenizer);
    base.push({ demo: id, evalLoss: await evalOn(t, data.eval), probeLoss: await evalOn(t, probe), ...s });
    t.dispose();
    model.dispose();
    process.stderr.write(`  base: ${JSON.stringify(base.at(-1))}\n`);
  }
  for (const method of methods) {
    for (const lr of lrs) {
      const model = LlamaModel.upload(gpu, weights);
      const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...VARIANT[method], lr, batch, seq, steps: stepMarks.at(-1)!, schedule: 'constant' };
      const start = performance.now();
      const trainer = await Trainer.init(model, config);
      const batches = new BatchIterator(data.train, batch, config.seed);
      for (let step = 1; step <= config.steps; step++) {
        trainer.recordStep([batches.next()]);
        await trainer.readMetrics();
        if (!stepMarks.includes(step)) continue;
        const seconds = (performance.now() - start) / 1000; // training (and the measurements before) so far
        const s = await score(model, d, tokenizer);
        const p: Point = { demo: id, method, lr, step, evalLoss: await evalOn(trainer, data.eval), probeLoss: await evalOn(trainer, probe), ...s, seconds };
        points.push(p);
        process.stderr.write(`  ${method} lr ${lr} step ${step}: eval ${p.evalLoss.toFixed(3)} probe ${p.probeLoss.toFixed(3)} score ${p.score.toFixed(2)} ${seconds.toFixed(0)} s ${JSON.stringify(s.samples)}\n`);
      }
      trainer.dispose();
      model.dispose();
    }
  }
}

// The table of docs/defaults.md: one row per demo × method × lr × step.
const f = (x: number, n = 2): string => (Number.isFinite(x) ? x.toFixed(n) : String(x));
const lines = ['| demo | method | lr | steps | eval loss | probe loss (rise) | recall / pirate | seconds |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
for (const b of base) lines.push(`| ${b.demo} | base | – | 0 | ${f(b.evalLoss)} | ${f(b.probeLoss)} | ${f(b.score)} | – |`);
for (const p of points) {
  const b = base.find((x) => x.demo === p.demo)!;
  lines.push(`| ${p.demo} | ${p.method} | ${p.lr} | ${p.step} | ${f(p.evalLoss)} | ${f(p.probeLoss)} (+${f(p.probeLoss - b.probeLoss)}) | ${f(p.score)} | ${p.seconds.toFixed(0)} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
if (args.json) writeFileSync(args.json, `${JSON.stringify({ model: 'tinyworld', batch, seq, evalBatches: EVAL_BATCHES, base, points }, null, 2)}\n`);
gpu.destroy();
