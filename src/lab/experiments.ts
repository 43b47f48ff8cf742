/**
 * The Lab's experiments: each seed paper's finding as a preset of runs (quick: a few steps on tiny
 * shapes, for tests; full: the measured version), with the paper's claim and number, and the rule
 * that decides whether the finding held in our runs. Definitions: ../shared/design/METHODS.md,
 * "What the seed papers measure".
 */
import { INTRUDER_EPSILONS } from '../spectra/intruders.ts';
import type { ExperimentId, Finding, LabPlan, PaperInfo, RunResult } from './types.ts';

export interface Experiment {
  id: ExperimentId;
  /** The question a teacher picks, e.g. "Does MoRA memorise better than LoRA?". */
  question: string;
  /** One sentence: what the preset runs and measures. */
  sentence: string;
  paper: PaperInfo;
  plan(quick: boolean): LabPlan;
  /** The paper's claims against our runs. */
  findings(runs: readonly RunResult[], ctx: FindingContext): Finding[];
}

/** What findings need to know of where we ran. */
export interface FindingContext {
  /** Our model and size, stated beside the paper's, e.g. "built-in model (264K parameters)". */
  scale: string;
  /** The model's smallest layer side, min(dim, hidden): what a LoRA rank is typical against. */
  width: number;
}

const pct = (x: number | undefined): string => (x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const f2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));
const last = <T>(xs: readonly T[] | undefined): T | undefined => xs?.at(-1);
const steps = (r: RunResult): number => r.settings.steps;
const finalCe = (r: RunResult): number | undefined => last(r.metrics.curve.filter((p) => p.forgetting_ce !== undefined))?.forgetting_ce;
/** Sum over ε of a run's mean intruders per module (its last measurement). */
const intruderSum = (r: RunResult): number => INTRUDER_EPSILONS.reduce((s, e) => s + (r.metrics.intruders_mean?.[String(e)] ?? 0), 0);

/** Pearson correlation of two equal-length series (NaN when either is constant). */
export function correlation(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

// ---------------------------------------------------------------------------------------------

const moraMemory: Experiment = {
  id: 'mora-memory',
  question: 'Does MoRA memorise better than LoRA?',
  sentence: 'Random UUID key → value pairs, memorised by LoRA and by MoRA (types 1 and 6) at the same trainable-parameter count; greedy exact match and character accuracy of the values over steps.',
  paper: {
    arxiv: '2405.12130', title: 'MoRA: High-Rank Updating for Parameter-Efficient Fine-Tuning', url: 'https://arxiv.org/abs/2405.12130',
    model: 'LLaMA-2 7B, random UUID pairs, r = 8, 900 steps',
  },
  plan(quick) {
    const base = quick
      ? { rank: 2, alpha: 4, targets: ['q' as const, 'v' as const], lr: 1e-2, steps: 3, batch: 2, seq: 32, schedule: 'constant' as const }
      : { rank: 8, alpha: 16, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as LabPlan['base']['targets'], lr: 1e-2, steps: 60, batch: 4, seq: 64, schedule: 'constant' as const };
    return {
      base,
      runs: [
        { name: `LoRA r${base.rank}`, config: { method: 'lora' } },
        { name: `MoRA type 1 r${base.rank}`, config: { method: 'mora', moraType: 1 } },
        { name: `MoRA type 6 r${base.rank}`, config: { method: 'mora', moraType: 6 } },
      ],
      every: quick ? 3 : 15,
      data: quick ? { kind: 'uuid', pairs: 3, groups: [4] } : { kind: 'uuid', pairs: 12, groups: [8, 4, 4] },
      measures: { generations: true },
    };
  },
  findings(runs, { scale }) {
    const [lora, m1, m6] = [runs[0]!, runs[1]!, runs[2]!];
    const acc = (r: RunResult) => last(r.metrics.curve)?.char_accuracy;
    const em = (r: RunResult) => last(r.metrics.curve)?.exact_match;
    const best = Math.max(acc(m1) ?? -1, acc(m6) ?? -1);
    return [{
      claim: 'At the same trainable-parameter count, MoRA memorises new key → value pairs better than LoRA (character accuracy of the generated value).',
      paper: 'LoRA 54.2% vs MoRA 100% character accuracy (r = 8, 900 steps, LLaMA-2 7B)',
      ours: `${lora.name} ${pct(acc(lora))} (exact ${pct(em(lora))}, ${lora.trainable} params), ${m1.name} ${pct(acc(m1))} (exact ${pct(em(m1))}, ${m1.trainable}), ` +
        `${m6.name} ${pct(acc(m6))} (exact ${pct(em(m6))}, ${m6.trainable}) after ${steps(lora)} steps; ${scale}`,
      held: best > (acc(lora) ?? Infinity),
    }];
  },
};

// ---------------------------------------------------------------------------------------------

const milora: Experiment = {
  id: 'milora',
  question: 'Does MiLoRA forget less than LoRA and PiSSA?',
  sentence: 'LoRA, PiSSA (principal components) and MiLoRA (minor components) on the same data and steps: learning (eval loss), forgetting as the cross-entropy against the base model\'s own predictions on held-out base text and as the probe loss, and where ΔW lies (principal vs minor overlap).',
  paper: {
    arxiv: '2406.09044', title: 'MiLoRA: Harnessing Minor Singular Components for Parameter-Efficient LLM Finetuning', url: 'https://arxiv.org/abs/2406.09044',
    model: 'LLaMA 7–8B models, commonsense / math / instruction tuning',
  },
  plan(quick) {
    const base = quick
      ? { rank: 2, alpha: 2, targets: ['q' as const, 'v' as const], lr: 1e-2, steps: 3, batch: 2, seq: 32, evalBatches: 1, schedule: 'constant' as const }
      : { rank: 8, alpha: 8, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as LabPlan['base']['targets'], lr: 1e-2, steps: 40, batch: 4, seq: 64, evalBatches: 8, schedule: 'constant' as const };
    return {
      base,
      runs: [
        { name: `LoRA r${base.rank}`, config: { method: 'lora' } },
        { name: `PiSSA r${base.rank}`, config: { method: 'pissa' } },
        { name: `MiLoRA r${base.rank}`, config: { method: 'milora' } },
      ],
      every: quick ? 3 : 10,
      data: { kind: 'facts' },
      measures: { losses: true, forgettingWindows: quick ? 1 : 8, spectraLayers: quick ? [0] : 'all' },
    };
  },
  findings(runs, { scale }) {
    const [lora, pissa, mi] = [runs[0]!, runs[1]!, runs[2]!];
    const ce = [finalCe(lora), finalCe(pissa), finalCe(mi)];
    const ceStart = runs[0]!.metrics.curve[0]?.forgetting_ce;
    return [
      {
        claim: 'MiLoRA forgets least and PiSSA most: cross-entropy of the fine-tuned model against the base model\'s own predictions on held-out base text (lower = less forgetting).',
        paper: 'LoRA 3.24, PiSSA 6.07, MiLoRA 2.54',
        ours: `LoRA ${f2(ce[0])}, PiSSA ${f2(ce[1])}, MiLoRA ${f2(ce[2])} (base model's entropy, the floor: ${f2(ceStart)}); probe loss rise LoRA ${f2(lora.metrics.forgetting)}, ` +
          `PiSSA ${f2(pissa.metrics.forgetting)}, MiLoRA ${f2(mi.metrics.forgetting)}; ${steps(lora)} steps, ${scale}`,
        held: ce[2]! < ce[0]! && ce[0]! < ce[1]!,
      },
      {
        claim: 'MiLoRA adapts the minor singular components and PiSSA the principal ones: ΔW overlaps W₀\'s minor subspace for MiLoRA, its principal subspace for PiSSA.',
        paper: 'by construction of the initialisations (MiLoRA: bottom r triplets; PiSSA: top r)',
        ours: `principal / minor overlap of ΔW: LoRA ${f2(lora.metrics.overlap_principal_mean)} / ${f2(lora.metrics.overlap_minor_mean)}, PiSSA ${f2(pissa.metrics.overlap_principal_mean)} / ` +
          `${f2(pissa.metrics.overlap_minor_mean)}, MiLoRA ${f2(mi.metrics.overlap_principal_mean)} / ${f2(mi.metrics.overlap_minor_mean)}`,
        held: (mi.metrics.overlap_minor_mean ?? 0) > (pissa.metrics.overlap_minor_mean ?? 0) && (pissa.metrics.overlap_principal_mean ?? 0) > (mi.metrics.overlap_principal_mean ?? 0),
      },
      {
        claim: 'MiLoRA learns the target task at least as well as LoRA and PiSSA (eval loss fall on the target data).',
        paper: 'MiLoRA outperforms LoRA and PiSSA on commonsense reasoning, math reasoning and instruction following',
        ours: `eval loss fall LoRA ${f2(lora.metrics.learning)}, PiSSA ${f2(pissa.metrics.learning)}, MiLoRA ${f2(mi.metrics.learning)} nats/token`,
        held: (mi.metrics.learning ?? -Infinity) >= Math.max(lora.metrics.learning ?? Infinity, pissa.metrics.learning ?? Infinity),
      },
    ];
  },
};

// ---------------------------------------------------------------------------------------------

/** LoRA ranks that count as "typical" here: at most a quarter of the smallest layer side. */
const TYPICAL_RANK_FRACTION = 1 / 4;

const learnForgetExp: Experiment = {
  id: 'learn-forget',
  question: 'Does LoRA learn less and forget less than full fine-tuning?',
  sentence: 'Full fine-tuning and LoRA at several ranks over increasing steps: the learning–forgetting curve (eval loss fall vs probe loss rise) and the rank that holds 90% of ΔW\'s energy per module.',
  paper: {
    arxiv: '2405.09673', title: 'LoRA Learns Less and Forgets Less', url: 'https://arxiv.org/abs/2405.09673',
    model: 'LLaMA-2 7B and 13B, code and math (continued pretraining and instruction tuning)',
  },
  plan(quick) {
    const ranks = quick ? [2, 4] : [4, 16, 64];
    const base = quick
      ? { targets: ['q' as const, 'v' as const], steps: 3, batch: 2, seq: 32, evalBatches: 1, schedule: 'constant' as const }
      : { targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as LabPlan['base']['targets'], steps: 40, batch: 4, seq: 64, evalBatches: 8, schedule: 'constant' as const };
    return {
      base,
      runs: [
        { name: 'Full fine-tuning', config: { method: 'full', lr: 1e-3 } },
        ...ranks.map((r) => ({ name: `LoRA r${r}`, config: { method: 'lora' as const, rank: r, alpha: 2 * r, lr: 1e-2 } })),
      ],
      every: quick ? 3 : 10,
      data: { kind: 'facts' },
      measures: { losses: true, spectraLayers: quick ? [0] : 'all' },
    };
  },
  findings(runs, { scale, width }) {
    const full = runs[0]!;
    const loras = runs.slice(1);
    const typical = loras.filter((r) => r.settings.rank <= TYPICAL_RANK_FRACTION * width);
    const fullRank = full.metrics.delta_rank90_mean ?? NaN;
    const ratios = typical.map((r) => fullRank / (r.metrics.delta_rank90_mean ?? NaN));
    const lf = (r: RunResult) => `${r.name} ${f2(r.metrics.learning)} / ${f2(r.metrics.forgetting)}`;
    return [
      {
        claim: `Full fine-tuning's ΔW needs 10–100× the rank of typical LoRA configurations (rank holding 90% of ΔW's energy, mean over modules; typical here: r ≤ ${TYPICAL_RANK_FRACTION * width}, a quarter of the smallest layer side).`,
        paper: 'full fine-tuning ΔW rank 10–100× that of typical LoRA configurations',
        ours: `mean rank90: full ${f2(fullRank)}, ${loras.map((r) => `${r.name} ${f2(r.metrics.delta_rank90_mean)}`).join(', ')}; ratio to ${typical.map((r, i) => `${r.name} ${f2(ratios[i])}×`).join(', ')}; ${scale}`,
        held: ratios.length > 0 && ratios.every((x) => x >= 10),
      },
      {
        claim: 'LoRA forgets less: its probe loss (held-out base text) rises less than full fine-tuning\'s.',
        paper: 'LoRA better maintains the base model\'s performance outside the target domain',
        ours: `learning / forgetting (nats/token) after ${steps(full)} steps: ${[full, ...loras].map(lf).join('; ')}`,
        held: loras.every((r) => (r.metrics.forgetting ?? Infinity) < (full.metrics.forgetting ?? -Infinity)),
      },
      {
        claim: 'LoRA learns less: its eval loss on the target data falls less than full fine-tuning\'s.',
        paper: 'LoRA substantially underperforms full fine-tuning on the target domain',
        ours: `eval loss fall: ${[full, ...loras].map((r) => `${r.name} ${f2(r.metrics.learning)}`).join(', ')}`,
        held: loras.every((r) => (r.metrics.learning ?? Infinity) < (full.metrics.learning ?? -Infinity)),
      },
    ];
  },
};

// ---------------------------------------------------------------------------------------------

const intruders: Experiment = {
  id: 'intruders',
  question: 'Does LoRA leave intruder dimensions that full fine-tuning does not?',
  sentence: 'LoRA and full fine-tuning on the same data: per module and over steps, how many of the fine-tuned W\'s top-10 left singular vectors have no close counterpart (|cos| < ε) among W₀\'s, beside the forgetting probe.',
  paper: {
    arxiv: '2410.21228', title: 'LoRA vs Full Fine-tuning: An Illusion of Equivalence', url: 'https://arxiv.org/abs/2410.21228',
    model: 'RoBERTa-base and LLaMA-2 7B, k = 10, ε from 0.5 to 0.9',
  },
  plan(quick) {
    const base = quick
      ? { targets: ['q' as const, 'v' as const], steps: 3, batch: 2, seq: 32, evalBatches: 1, schedule: 'constant' as const }
      : { targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as LabPlan['base']['targets'], steps: 40, batch: 4, seq: 64, evalBatches: 8, schedule: 'constant' as const };
    const rank = quick ? 2 : 8;
    return {
      base,
      runs: [
        { name: `LoRA r${rank}`, config: { method: 'lora', rank, alpha: 2 * rank, lr: 1e-2 } },
        { name: 'Full fine-tuning', config: { method: 'full', lr: 1e-3 } },
      ],
      every: quick ? 3 : 10,
      data: { kind: 'facts' },
      measures: { losses: true, intruderLayers: quick ? [0] : 'all' },
    };
  },
  findings(runs, { scale }) {
    const [lora, full] = [runs[0]!, runs[1]!];
    const means = (r: RunResult) => INTRUDER_EPSILONS.map((e) => `${e}: ${f2(r.metrics.intruders_mean?.[String(e)])}`).join(', ');
    // Intruders (summed over ε, mean per module) against the probe loss rise, at every measured step of both runs.
    const xs: number[] = [], ys: number[] = [];
    for (const r of runs) {
      const probe0 = r.metrics.curve[0]?.probe_loss;
      for (const p of r.metrics.intruders ?? []) {
        const probe = r.metrics.curve.find((c) => c.step === p.step)?.probe_loss;
        if (probe0 === undefined || probe === undefined || p.modules.length === 0) continue;
        xs.push(INTRUDER_EPSILONS.reduce((s, e) => s + p.modules.reduce((a, m) => a + m.intruders[String(e)]!, 0) / p.modules.length, 0));
        ys.push(probe - probe0);
      }
    }
    const rho = xs.length >= 3 ? correlation(xs, ys) : NaN;
    return [
      {
        claim: 'LoRA\'s fine-tuned weights have intruder dimensions (top singular vectors unlike any of W₀\'s) that full fine-tuning\'s do not.',
        paper: 'LoRA (r ≤ 64) matrices have intruder dimensions; fully fine-tuned ones have few or none',
        ours: `mean intruders per module among the top 10, by ε, after ${steps(lora)} steps: ${lora.name} ${means(lora)}; ${full.name} ${means(full)}; ${scale}`,
        held: intruderSum(lora) > intruderSum(full),
      },
      {
        claim: 'Intruder dimensions go with forgetting: more intruders, a higher probe loss.',
        paper: 'intruder dimensions track forgetting of the pre-training distribution',
        ours: `Pearson r between intruders (mean per module, summed over ε) and the probe loss rise over ${xs.length} measured steps of both runs: ${f2(rho)}`,
        held: rho > 0,
      },
    ];
  },
};

export const EXPERIMENTS: readonly Experiment[] = [moraMemory, milora, learnForgetExp, intruders];

export function experimentById(id: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.id === id);
  if (!e) throw new Error(`unknown experiment "${id}": use ${EXPERIMENTS.map((x) => x.id).join(', ')}`);
  return e;
}
