/** Why Start is disabled — the first thing that keeps what the page shows from being what would train — or null. */
import { dataBlocker } from '../../store/data-slice.ts';
import { labBusy } from '../../store/lab-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { FIELD_LABELS, useConfigProblem } from '../method/config-problem.ts';

export function useStartBlocker(): string | null {
  const ready = useAppStore((s) => s.engineStatus === 'ready');
  const model = useAppStore((s) => s.model);
  const loading = useAppStore((s) => s.modelLoading);
  const drafts = useAppStore((s) => s.fieldDrafts);
  const data = useAppStore(dataBlocker);
  const generating = useAppStore((s) => s.generateStatus !== 'idle' || s.compareStatus !== 'idle');
  const lab = useAppStore(labBusy);
  const problem = useConfigProblem();
  if (!ready) return 'The engine is not ready.';
  if (!model || loading) return 'Load a model first.';
  if (!model.hasTokenizer) return 'The model has no tokenizer: load it with its tokenizer file.';
  const draft = Object.values(drafts)[0];
  if (draft) return `${draft.label}: ${draft.error}`;
  if (problem) return `${FIELD_LABELS[problem.field] ?? 'Settings'}: ${problem.message}`;
  if (data) return data;
  if (generating) return 'Wait for the generation to finish.';
  if (lab) return lab;
  return null;
}
