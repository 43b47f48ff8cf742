/** An experiment's report: results.json, report.md and the SVG charts it embeds. */
import { INTRUDER_EPSILONS } from '../spectra/intruders.ts';
import type { Experiment } from './experiments.ts';
import { learnForget } from './summary.ts';
import { svgChart, type ChartSpec } from '../schema/svg-chart.ts';
import type { CurvePoint, LabResults, RunResult } from './types.ts';

/** One chart of the report: its file name and what it draws. */
export interface ReportChart {
  file: string;
  spec: ChartSpec;
}

const curveSeries = (runs: readonly RunResult[], key: keyof CurvePoint, scale = 1) =>
  runs.map((r) => ({
    name: r.name,
    points: r.metrics.curve.filter((p) => typeof p[key] === 'number').map((p): [number, number] => [p.step, (p[key] as number) * scale]),
  }));

/** The charts of an experiment's results. */
export function reportCharts(results: LabResults): ReportChart[] {
  const runs = results.runs;
  const lossSeries = runs.map((r) => ({ name: r.name, points: r.metrics.loss.map((l, i): [number, number] => [i + 1, l]) }));
  const trainLoss: ReportChart = { file: 'train-loss.svg', spec: { title: 'Training loss', xLabel: 'step', yLabel: 'loss (nats/token)', series: lossSeries } };
  switch (results.experiment) {
    case 'mora-memory':
      return [
        { file: 'char-accuracy.svg', spec: { title: 'Character accuracy of the generated values', xLabel: 'step', yLabel: 'character accuracy (%)', series: curveSeries(runs, 'char_accuracy', 100) } },
        { file: 'exact-match.svg', spec: { title: 'Exact match of the generated values', xLabel: 'step', yLabel: 'exact match (%)', series: curveSeries(runs, 'exact_match', 100) } },
        trainLoss,
      ];
    case 'milora': {
      const overlap = runs.flatMap((r) => (['principal', 'minor'] as const).map((side) => ({
        name: `${r.name} ${side}`,
        points: (r.metrics.spectra ?? []).filter((s) => s.step > 0).map((s): [number, number] =>
          [s.step, s.modules.reduce((a, m) => a + (side === 'principal' ? m.overlap_principal : m.overlap_minor), 0) / s.modules.length]),
      })));
      return [
        { file: 'eval-loss.svg', spec: { title: 'Learning: eval loss on the target data', xLabel: 'step', yLabel: 'eval loss (nats/token)', series: curveSeries(runs, 'eval_loss') } },
        { file: 'forgetting-ce.svg', spec: { title: 'Forgetting: CE against the base model\'s predictions', xLabel: 'step', yLabel: 'cross-entropy (nats/token)', series: curveSeries(runs, 'forgetting_ce') } },
        { file: 'probe-loss.svg', spec: { title: 'Forgetting probe loss (held-out base text)', xLabel: 'step', yLabel: 'probe loss (nats/token)', series: curveSeries(runs, 'probe_loss') } },
        { file: 'overlap.svg', spec: { title: 'Where ΔW lies: overlap with W₀\'s principal / minor subspace', xLabel: 'step', yLabel: 'mean overlap (0..1)', series: overlap } },
      ];
    }
    case 'learn-forget': {
      const pareto = runs.map((r) => ({
        name: r.name,
        points: r.metrics.curve.filter((p) => p.step > 0).map((p): [number, number] => {
          const lf = learnForget(r.metrics.curve, p.step);
          return [lf.forgetting ?? NaN, lf.learning ?? NaN];
        }),
      }));
      const rankSteps = runs.map((r) => ({
        name: r.name,
        points: (r.metrics.spectra ?? []).filter((s) => s.step > 0).map((s): [number, number] => [s.step, s.modules.reduce((a, m) => a + m.delta_rank90, 0) / s.modules.length]),
      }));
      const perModule = runs.map((r) => ({ name: r.name, points: (r.metrics.spectra?.at(-1)?.modules ?? []).map((m, i): [number, number] => [i, m.delta_rank90]) }));
      return [
        { file: 'learn-forget.svg', spec: { title: 'Learning vs forgetting over steps', xLabel: 'forgetting: probe loss rise (nats/token)', yLabel: 'learning: eval loss fall (nats/token)', series: pareto } },
        { file: 'rank90-steps.svg', spec: { title: 'Mean ΔW rank for 90% of its energy', xLabel: 'step', yLabel: 'mean rank90', series: rankSteps } },
        { file: 'rank90-modules.svg', spec: { title: 'ΔW rank90 per module (last step)', xLabel: 'module (layer-major: q k v o gate up down)', yLabel: 'rank90', series: perModule, scatter: true } },
      ];
    }
    case 'intruders': {
      const eps = [INTRUDER_EPSILONS[0], INTRUDER_EPSILONS.at(-1)!];
      const overSteps = runs.flatMap((r) => eps.map((e) => ({
        name: `${r.name} ε=${e}`,
        points: (r.metrics.intruders ?? []).map((s): [number, number] => [s.step, s.modules.reduce((a, m) => a + m.intruders[String(e)]!, 0) / s.modules.length]),
      })));
      const vsForget = runs.map((r) => ({
        name: r.name,
        points: (r.metrics.intruders ?? []).map((s): [number, number] => [
          learnForget(r.metrics.curve, s.step).forgetting ?? 0,
          s.modules.reduce((a, m) => a + m.intruders[String(INTRUDER_EPSILONS.at(-1)!)]!, 0) / s.modules.length,
        ]),
      }));
      return [
        { file: 'intruders-steps.svg', spec: { title: 'Intruder dimensions per module (top 10)', xLabel: 'step', yLabel: 'mean intruders per module', series: overSteps } },
        { file: 'intruders-forgetting.svg', spec: { title: `Intruders (ε = ${INTRUDER_EPSILONS.at(-1)}) vs forgetting`, xLabel: 'probe loss rise (nats/token)', yLabel: 'mean intruders per module', series: vsForget } },
        { file: 'probe-loss.svg', spec: { title: 'Forgetting probe loss (held-out base text)', xLabel: 'step', yLabel: 'probe loss (nats/token)', series: curveSeries(runs, 'probe_loss') } },
      ];
    }
  }
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const n2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));

/** The runs table: settings that matter and headline numbers. */
function runsTable(runs: readonly RunResult[]): string[] {
  const rows = runs.map((r) => {
    const s = r.settings;
    const last = r.metrics.curve.at(-1);
    const adapter = s.method === 'full' ? 'every weight' : `r ${s.rank}${s.method === 'mora' ? ` type ${s.moraType}` : `, α ${s.alpha}`}, ${s.targets.join(' ')}`;
    const numbers = [
      last?.char_accuracy !== undefined ? `char acc ${(100 * last.char_accuracy).toFixed(1)}%, exact ${(100 * last.exact_match!).toFixed(1)}%` : '',
      r.metrics.learning !== undefined ? `learning ${n2(r.metrics.learning)}` : '',
      r.metrics.forgetting !== undefined ? `forgetting ${n2(r.metrics.forgetting)}` : '',
      last?.forgetting_ce !== undefined ? `CE vs base ${n2(last.forgetting_ce)}` : '',
      r.metrics.delta_rank90_mean !== undefined ? `rank90 ${n2(r.metrics.delta_rank90_mean)}` : '',
      r.metrics.overlap_principal_mean !== undefined ? `principal ${n2(r.metrics.overlap_principal_mean)} / minor ${n2(r.metrics.overlap_minor_mean)}` : '',
      r.metrics.intruders_mean ? `intruders ${INTRUDER_EPSILONS.map((e) => n2(r.metrics.intruders_mean![String(e)])).join(' / ')} (ε ${INTRUDER_EPSILONS.join(' / ')})` : '',
    ].filter(Boolean).join('; ');
    return `| ${cell(r.name)} | ${r.method} | ${cell(adapter)} | ${r.trainable} | ${s.lr} | ${s.steps} | ${cell(numbers)} |`;
  });
  return ['| run | method | adapter | trainable | lr | steps | measured |', '| --- | --- | --- | --- | --- | --- | --- |', ...rows];
}

/** report.md for `results` (charts referenced by their file names beside it). */
export function reportMarkdown(exp: Experiment, results: LabResults, scale: string, charts: readonly ReportChart[]): string {
  const p = results.paper;
  const s0 = results.runs[0]?.settings;
  const lines = [
    `# ${exp.question}`,
    '',
    exp.sentence,
    '',
    `- **Paper**: [${p.title}](${p.url}) (arXiv ${p.arxiv}); its scale: ${p.model}.`,
    `- **Here**: ${scale}; batch ${s0?.batch}, windows of ${s0?.seq} tokens, seed ${s0?.seed}. Our scale is tiny: the numbers say what happens on this model, not on the paper's.`,
    '',
    '## Findings',
    '',
    '| claim | paper | ours | held here |',
    '| --- | --- | --- | --- |',
    ...results.findings.map((f) => `| ${cell(f.claim)} | ${cell(f.paper)} | ${cell(f.ours)} | ${f.held ? 'yes' : 'no'} |`),
    '',
    '## Runs',
    '',
    ...runsTable(results.runs),
    '',
    'Learning: eval loss at step 0 minus at the end; forgetting: probe loss (held-out base text) at the end minus at step 0 (nats/token).',
    '',
    '## Charts',
    '',
    ...charts.flatMap((c) => [`![${c.spec.title}](${c.file})`, '']),
  ];
  return lines.join('\n');
}

/** Every file of a report: results.json, report.md and the charts. */
export function reportFiles(exp: Experiment, results: LabResults, scale: string): Map<string, string> {
  const charts = reportCharts(results);
  const files = new Map<string, string>();
  files.set('results.json', `${JSON.stringify(results, null, 2)}\n`);
  files.set('report.md', reportMarkdown(exp, results, scale, charts));
  for (const c of charts) files.set(c.file, svgChart(c.spec));
  return files;
}
