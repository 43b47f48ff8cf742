/** Exported charts ready for a slide: the chart's SVG framed with its title, the runs' settings and a legend. */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { runLabel, type RunRecord } from '../../src/store/runs-slice.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import { dataIdentity } from '../../src/schema/data-identity.ts';
import { framedSvg, wrapText, xmlEscape } from '../../src/ui/charts/chart-frame.ts';
import { learnForgetDots, learnForgetExportInfo } from '../../src/ui/compare-runs/learn-forget-chart.tsx';
import { runsExportInfo, RunsChart } from '../../src/ui/compare-runs/runs-chart.tsx';
import { plotExportInfo } from '../../src/ui/spectrum/line-plot.tsx';
import type { DemoSummary } from '../../src/workers/protocol.ts';

const demos: DemoSummary[] = [{ id: 'new-facts', title: 'New facts', description: '', fileName: 'new-facts.jsonl', records: 10, bytes: 100 }];
const facts = dataIdentity({ fileName: 'new-facts.jsonl', text: 'Lily has a dog.', source: 'demo' }, 240);

function run(runId: number, methodId: 'lora' | 'mora'): RunRecord {
  const config = { ...DEFAULT_TRAIN_CONFIG, method: methodId, steps: 6, lr: 0.01, batch: 2, seq: 32 };
  return {
    runId, index: runId, methodId, label: runLabel(runId, methodId, config), config, trainableCount: 8192,
    train: [{ step: 1, loss: 3, lr: 0.01, gradNorm: 1, tokensPerSec: 10, elapsedMs: 5, epoch: 0, peakGpuBytes: 1 << 20 }, { step: 6, loss: 2, lr: 0.01, gradNorm: 1, tokensPerSec: 10, elapsedMs: 30, epoch: 0, peakGpuBytes: 1 << 20 }],
    eval: [{ step: 0, loss: 3.5, forget: 2 }, { step: 6, loss: 2.5, forget: 2.25 }],
    reason: 'completed', steps: 6, finalLoss: 2, evalLoss: 2.5, tokensPerSec: 10, update: null, dataId: facts, probeId: null,
  };
}
const runs = [run(1, 'lora'), run(2, 'mora')];

/** The texts of an SVG document's <text> elements of class `cls`. */
const texts = (svg: string, cls: string) => [...svg.matchAll(new RegExp(`<text[^>]*class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);
const legend = (svg: string) => [...svg.matchAll(/<g class="export-legend-entry"><line[^>]*stroke="([^"]+)"[^>]*\/><text[^>]*>([^<]*)<\/text><\/g>/g)].map((m) => `${m[1]} ${m[2]}`);

describe('framedSvg', () => {
  const chart = '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="260"><path d="M0,0L10,10"/></svg>';

  test('the compare chart\'s export: title, one settings line per run, the chart, and the runs as the legend', () => {
    const framed = framedSvg(chart, 640, 260, runsExportInfo(runs, demos, true));
    expect(framed.markup.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="640"')).toBe(true);
    expect(framed.markup).toContain('<title>Loss by run (log scale)</title>');
    expect(texts(framed.markup, 'export-title')).toEqual(['Loss by run (log scale)']);
    expect(texts(framed.markup, 'export-note')).toEqual([
      'Run 1 · LoRA r8: lr 1.0e-2, 6 steps, batch 2×32, targets q, v, α 16; data New facts',
      'Run 2 · MoRA r8: lr 1.0e-2, 6 steps, batch 2×32, targets q, v; data New facts',
      'line: train loss · circles: eval loss · dashed line, dots: forgetting-probe loss',
    ]);
    expect(legend(framed.markup)).toEqual(['#1f4e8c Run 1 · LoRA r8', '#c2410c Run 2 · MoRA r8']);
    expect(framed.markup).toContain('<path d="M0,0L10,10"/>'); // the drawing itself, untouched
    expect(framed.markup).toContain('<rect width="100%" height="100%" fill="#ffffff"/>');
    // The document is taller than the chart by the header and the legend, and says so in its size.
    expect(framed.height).toBeGreaterThan(260 + 3 * 11);
    expect(framed.markup).toContain(`height="${framed.height}" viewBox="0 0 640 ${framed.height}"`);
  });

  test('learning vs forgetting: each run\'s settings with what it learned and forgot', () => {
    const info = learnForgetExportInfo(learnForgetDots(runs), demos);
    expect(info.title).toBe('Learning vs forgetting (nats/token, from step 0)');
    expect(info.notes[0]).toBe('Run 1 · LoRA r8: lr 1.0e-2, 6 steps, batch 2×32, targets q, v, α 16; data New facts — learned 1.00, forgot 0.25');
    expect(info.legend.map((e) => e.label)).toEqual(['Run 1 · LoRA r8', 'Run 2 · MoRA r8']);
  });

  test('a spectrum plot\'s export: its series as the legend, text escaped, long notes wrapped', () => {
    const series = [{ key: 'base', label: 'σ(W₀) <base>', color: '#64748b', points: [] }, { key: 'delta', label: 'σ(ΔW) & co', color: '#dc2626', points: [] }];
    const long = `Run 3 · MoRA r8: ${'a very long setting, '.repeat(8)}end`;
    const framed = framedSvg(chart, 300, 180, plotExportInfo('Singular values of model.layers.1.self_attn.v_proj — Run 3 · MoRA r8', series, [long]));
    expect(framed.width).toBe(480); // a narrow plot gets a page wide enough for its text
    expect(legend(framed.markup)).toEqual(['#64748b σ(W₀) &lt;base&gt;', '#dc2626 σ(ΔW) &amp; co']);
    const notes = texts(framed.markup, 'export-note');
    expect(notes.length).toBeGreaterThan(1);
    expect(notes.join(' ')).toBe(long);
    expect(framed.markup).toContain('translate(90.0 '); // the plot centred on the wider page
  });

  test('wrapText and xmlEscape', () => {
    expect(wrapText('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
    expect(wrapText('unbreakable-word here', 4)).toEqual(['unbreakable-word', 'here']);
    expect(xmlEscape('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });

  test('the compare chart has its download buttons', () => {
    const html = renderToStaticMarkup(createElement(RunsChart, { runs }));
    expect(html).toContain('data-testid="compare-runs-download-svg"');
    expect(html).toContain('data-testid="compare-runs-download-png"');
  });
});

describe('the loss chart\'s export', () => {
  test('titled with the run, its settings and the summary as notes, the series shown as the legend', async () => {
    const { useAppStore } = await import('../../src/store/store.ts');
    const { lossExportInfo } = await import('../../src/ui/charts/loss-chart.tsx');
    const r = run(3, 'lora');
    useAppStore.setState({
      runInfo: { runId: 3, config: r.config, trainableCount: 8192, paramCount: 1, tokensPerStep: 64, data: {} as never, dataId: facts },
      runMethodId: 'lora', demos, runProgress: { step: 4, totalSteps: 6, loss: 2, tokensPerSec: 1, elapsedMs: 1, etaMs: 1 },
    });
    const info = lossExportInfo({ train: true, eval: true, forget: false, lr: true }, '4 steps; last train loss 2.0000');
    expect(info.title).toBe('Loss — Run 3 · LoRA r8');
    expect(info.notes).toEqual(['Run 3 · LoRA r8: lr 1.0e-2, 4 of 6 steps, batch 2×32, targets q, v, α 16; data New facts', '4 steps; last train loss 2.0000']);
    expect(info.legend).toEqual([
      { label: 'train loss', colour: '#1f4e8c' },
      { label: 'eval loss', colour: '#c2410c' },
      { label: 'learning rate (right axis)', colour: '#6b8e23', dashed: true },
    ]);
  });
});
