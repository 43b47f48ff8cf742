/** The loaded model: its files, parameter count, architecture (folded into one line) and memory per method. */
import type { LlamaConfig } from '../../schema/llama-config.ts';
import { useAppStore } from '../../store/store.ts';
import { formatCompact, formatInt, formatMs } from '../shared/format.ts';
import { MemoryTable } from './memory-table.tsx';

/** The architecture in one line, e.g. "5 layers · width 64 · FFN 172 · 8 heads (4 kv) · vocab 512 · context 512". */
function archLine(c: LlamaConfig): string {
  const heads = c.nKvHeads === c.nHeads ? `${c.nHeads} heads` : `${c.nHeads} heads (${c.nKvHeads} kv)`;
  return [`${c.nLayers} layers`, `width ${formatInt(c.dim)}`, `FFN ${formatInt(c.hiddenDim)}`, heads, `vocab ${formatInt(c.vocabSize)}`, `context ${formatInt(c.maxSeqLen)}`].join(' · ');
}

export function ModelSummaryView() {
  const model = useAppStore((s) => s.model);
  const card = useAppStore((s) => s.modelCard);
  if (!model) return <p className="empty">No model loaded yet.</p>;
  const c = model.config;
  const rows: [string, string, string][] = [
    ['dim', 'Width (dim)', formatInt(c.dim)],
    ['hidden-dim', 'FFN width', formatInt(c.hiddenDim)],
    ['layers', 'Layers', formatInt(c.nLayers)],
    ['heads', 'Attention heads', formatInt(c.nHeads)],
    ['kv-heads', 'Key/value heads', formatInt(c.nKvHeads)],
    ['head-dim', 'Head size', formatInt(c.dim / c.nHeads)],
    ['vocab', 'Vocabulary', formatInt(c.vocabSize)],
    ['context', 'Context length', formatInt(c.maxSeqLen)],
    ['norm-eps', 'RMSNorm eps', String(c.normEps)],
    ['rope-theta', 'RoPE base', formatInt(c.ropeTheta)],
    ['tied', 'Tied embeddings', c.tiedEmbeddings ? 'yes' : 'no'],
  ];
  return (
    <div className="model-summary" data-testid="model-summary">
      {card && (
        <p className="model-card" data-testid="model-card">
          <strong>Built-in model “{card.name}”.</strong> {card.description} Eval loss {card.eval_loss.toFixed(2)} nats/token.
        </p>
      )}
      <p className="model-files">
        Loaded <span data-testid="model-files-loaded">{model.files.join(' + ')}</span>{' '}
        <span className="muted">in {formatMs(model.loadMs)}</span>
      </p>
      <p className="param-count">
        <span data-testid="param-count">{formatInt(model.paramCount)}</span> parameters{' '}
        <span className="muted">({formatCompact(model.paramCount)})</span>
      </p>
      <details className="arch-details" data-testid="arch-details">
        <summary>
          Architecture: <span className="muted">{archLine(c)}</span>
        </summary>
        <dl className="arch">
          {rows.map(([key, label, value]) => (
            <div key={key} className="arch-row">
              <dt>{label}</dt>
              <dd data-testid={`arch-${key}`}>{value}</dd>
            </div>
          ))}
        </dl>
      </details>
      <MemoryTable />
      {!model.hasTokenizer && (
        <p className="inline-warning" role="status" data-testid="no-tokenizer">
          No tokenizer was loaded, so the model cannot generate text. Load the checkpoint again together with its tokenizer file.
        </p>
      )}
    </div>
  );
}
