/**
 * A finished preset's result card: the paper's numbers beside ours (with both scales stated, ours
 * tiny), whether each finding held here, every run's numbers, the report's charts, "Open these runs
 * in Compare", and the report as Markdown, JSON and the charts as SVG and PNG.
 */
import { useAppStore } from '../../store/store.ts';
import type { LabOutcome } from '../../store/lab-slice.ts';
import { downloadBlob } from '../shared/download.ts';
import { formatMs } from '../shared/format.ts';
import { downloadPng, LabChart } from './lab-charts.tsx';
import { measuredText } from './lab-format.ts';

const fileText = (o: LabOutcome, name: string): string => o.report.files.find((f) => f.name === name)?.text ?? '';

export function LabResult({ outcome }: { outcome: LabOutcome }) {
  const open = useAppStore((s) => s.openLabRunsInCompare);
  const exp = useAppStore((s) => s.labExperiments?.find((e) => e.id === outcome.results.experiment));
  const { results, report } = outcome;
  const held = results.findings.filter((f) => f.held).length;
  const prefix = `${results.experiment}${outcome.quick ? '-quick' : ''}`;
  const openInCompare = async () => {
    await open();
    document.querySelector('[data-testid="compare-runs-panel"]')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  return (
    <article className="lab-result" data-testid="lab-result" data-experiment={results.experiment}>
      <h3>{exp?.question ?? results.experiment}: {held} of {results.findings.length} finding{results.findings.length === 1 ? '' : 's'} held here</h3>
      <p className="lab-scale" data-testid="lab-scale">
        Paper: <a href={results.paper.url} target="_blank" rel="noreferrer">{results.paper.title}</a> (arXiv {results.paper.arxiv}), on {results.paper.model}.
        {' '}Here: {report.scale}, in {formatMs(outcome.ms)}. Our scale is tiny — about a quarter of a million parameters and a few dozen steps at most — so these numbers say what happens on this model, not on the paper's.
      </p>
      <table className="lab-findings">
        <thead>
          <tr><th>claim</th><th>paper</th><th>ours</th><th>held here</th></tr>
        </thead>
        <tbody>
          {results.findings.map((f) => (
            <tr key={f.claim} data-testid="lab-finding" data-held={f.held}>
              <td>{f.claim}</td>
              <td>{f.paper}</td>
              <td>{f.ours}</td>
              <td className={f.held ? 'held' : 'not-held'}>{f.held ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="lab-runs">
        {results.runs.map((r, i) => (
          <li key={r.name} data-testid="lab-result-run" data-run-id={outcome.runIds[i] ?? 0}>
            <strong>{r.name}</strong>{outcome.runIds[i] ? ` (saved as run ${outcome.runIds[i]})` : ' (not saved)'}: {measuredText(r)}
          </li>
        ))}
      </ul>
      <div className="lab-charts">
        {report.charts.map((c) => (
          <LabChart key={c.file} file={c.file} title={c.title} markup={fileText(outcome, c.file)} />
        ))}
      </div>
      <div className="lab-actions">
        <button type="button" onClick={() => void openInCompare()} disabled={!outcome.runIds.some((id) => id > 0)} data-testid="lab-open-compare">
          Open these runs in Compare
        </button>
        <button type="button" onClick={() => downloadBlob(`${prefix}-report.md`, fileText(outcome, 'report.md'), 'text/markdown')} data-testid="lab-export-md">
          report.md
        </button>
        <button type="button" onClick={() => downloadBlob(`${prefix}-results.json`, fileText(outcome, 'results.json'), 'application/json')} data-testid="lab-export-json">
          results.json
        </button>
        <button
          type="button"
          onClick={() => report.charts.forEach((c) => downloadBlob(c.file, fileText(outcome, c.file), 'image/svg+xml'))}
          data-testid="lab-export-svg"
        >
          Charts (SVG)
        </button>
        <button
          type="button"
          onClick={() => void report.charts.reduce((p, c) => p.then(() => downloadPng(c.file, fileText(outcome, c.file))), Promise.resolve())}
          data-testid="lab-export-png"
        >
          Charts (PNG)
        </button>
      </div>
    </article>
  );
}
