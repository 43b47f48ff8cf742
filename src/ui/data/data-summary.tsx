/** What the tokenised data looks like: counts, the split, counted warnings and the first examples as tokens. */
import { useAppStore } from '../../store/store.ts';
import type { DataSample } from '../../schema/data.ts';
import { formatInt } from '../shared/format.ts';

const SHOWN_TOKENS = 40;

function Sample({ sample }: { sample: DataSample }) {
  const shown = sample.pieces.slice(0, SHOWN_TOKENS);
  return (
    <li className="sample" data-testid="data-sample">
      <span className="sample-line">line {sample.line}</span>
      <span className="tokens" aria-label={`${sample.pieces.length} tokens`}>
        {shown.map((p, i) => (
          <span key={i} className={`tok${sample.mask[i] ? ' tok-loss' : ''}`} title={`id ${sample.ids[i]}${sample.mask[i] ? ', trained on' : ', no loss'}`}>
            {p.replace(/\n/g, '⏎') || '∅'}
          </span>
        ))}
        {sample.pieces.length > SHOWN_TOKENS && <span className="muted"> … {sample.pieces.length - SHOWN_TOKENS} more</span>}
      </span>
    </li>
  );
}

/** What packing did with the examples, in words (see train/packing.ts). */
function packingText(packing: 'whole' | 'stream', T: number): string {
  return packing === 'whole'
    ? 'an example starts a new window when it does not fit in what is left of the current one (the rest is padding)'
    : `the examples, each between <bos> and <eos>, are packed back to back and cut every ${T} tokens, so one can run on into the next window`;
}

export function DataSummaryView() {
  const data = useAppStore((s) => s.dataSummary);
  if (!data) return null;
  const s = data.stats;
  const warnings = Object.entries(data.warningCounts).filter(([, n]) => n > 0);
  const unlisted = warnings.reduce((sum, [, n]) => sum + n, 0) - data.warnings.length;
  const rows: [string, string, string][] = [
    ['records', s.format === 'jsonl' ? 'Records' : 'Documents', formatInt(s.records)],
    ['tokens', 'Tokens', formatInt(s.tokens)],
    ['loss-tokens', 'Tokens with loss', formatInt(s.lossTokens)],
    ['train-windows', 'Train windows', formatInt(s.trainWindows)],
    ['eval-windows', 'Eval windows', formatInt(s.evalWindows)],
  ];
  return (
    <div className="data-summary" data-testid="data-summary">
      <p className="data-source">
        <span data-testid="data-file">{`${s.file} (${s.format === 'jsonl' ? 'JSONL' : 'plain text'})`}</span>
      </p>
      <dl className="arch">
        {rows.map(([key, label, value]) => (
          <div key={key} className="arch-row">
            <dt>{label}</dt>
            <dd data-testid={`data-${key}`}>{value}</dd>
          </div>
        ))}
      </dl>
      <p className="hint">
        Windows of {data.split.seqLen} tokens: {packingText(s.packing, data.split.seqLen)};{' '}
        {Math.round(data.split.evalFraction * 100)}% held out for eval (split seed {data.split.seed})
        {s.droppedWindows > 0 ? `; ${s.droppedWindows} windows without a loss token dropped` : ''}.
      </p>
      {warnings.length > 0 && (
        <details className="inline-warning" data-testid="data-warnings">
          <summary>
            {warnings.map(([kind, n]) => `${n} ${kind}`).join(', ')} — warnings
          </summary>
          <ul>
            {data.warnings.map((w, i) => (
              <li key={i} data-testid="data-warning">
                {w.line !== undefined ? `line ${w.line}: ` : ''}
                {w.message}
              </li>
            ))}
          </ul>
          {unlisted > 0 && <p data-testid="data-warnings-more">{`… and ${unlisted} more warnings`}</p>}
        </details>
      )}
      <h3>First examples as tokens</h3>
      <p className="hint">Highlighted tokens are trained on (loss); the others are context only.</p>
      <ol className="samples">
        {s.samples.map((sample, i) => (
          <Sample key={i} sample={sample} />
        ))}
      </ol>
    </div>
  );
}
