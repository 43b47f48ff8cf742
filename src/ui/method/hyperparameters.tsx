/** The run's numbers: adapter shape (rank, alpha, dropout, targets, MoRA type) and the optimisation schedule. */
import { useId } from 'react';
import { LINEAR_MODULES } from '../../schema/tensors.ts';
import { methodRow } from '../../store/methods.ts';
import { useAppStore } from '../../store/store.ts';
import { SCHEDULES, type ScheduleKind } from '../../schema/schedule.ts';
import { loraScale, type TrainConfig } from '../../schema/train-config.ts';
import { NumberField } from '../shared/number-field.tsx';
import { FIELD_LABELS, type ConfigProblem } from './config-problem.ts';
import { GpuBudgetField, RecomputeToggle } from './memory-settings.tsx';

const MODULE_LABELS: Record<(typeof LINEAR_MODULES)[number], string> = {
  q: 'q', k: 'k', v: 'v', o: 'o', gate: 'gate', up: 'up', down: 'down',
};

export function Hyperparameters({ problem }: { problem: ConfigProblem | null }) {
  const scheduleId = useId();
  const targetsNote = useId();
  const config = useAppStore((s) => s.trainConfig);
  const methodId = useAppStore((s) => s.methodId);
  const set = useAppStore((s) => s.setTrainField);
  const setDraft = useAppStore((s) => s.setFieldDraft);
  const setTarget = useAppStore((s) => s.setTarget);
  const context = useAppStore((s) => s.model?.config.maxSeqLen);
  const uses = methodRow(methodId).uses;
  const problemFor = (field: keyof TrainConfig | 'betas') => (problem?.field === field ? problem.message : null);
  const num = <K extends keyof TrainConfig>(key: K) => (v: number) => set(key, v as TrainConfig[K]);
  /** A field's invalid text goes to the store, where it blocks Start by the field's name. */
  const draft = (key: keyof TrainConfig) => (d: { raw: string; error: string } | null) => setDraft(key, d && { label: FIELD_LABELS[key] ?? key, ...d });
  const shownFields = new Set<string>(['lr', 'schedule', 'warmup', 'steps', 'batch', 'seq', 'seed', 'evalEvery', 'gradAccum', 'evalBatches', 'weightDecay', 'maxGradNorm']);
  if (uses.rank) shownFields.add('rank');
  if (uses.alpha) shownFields.add('alpha');
  if (uses.dropout) shownFields.add('dropout');
  if (uses.targets) shownFields.add('targets');
  if (uses.moraType) shownFields.add('moraType');
  const elsewhere = problem && !shownFields.has(problem.field) ? problem : null;

  return (
    <div className="hyper">
      {(uses.rank || uses.alpha || uses.dropout) && (
        <div className="settings settings-3">
          {uses.rank && <NumberField label="Rank r" value={config.rank} min={1} step={1} integer testId="rank" problem={problemFor('rank')} onCommit={num('rank')} onDraft={draft('rank')} />}
          {uses.alpha && (
            <NumberField
              label="Alpha α"
              value={config.alpha}
              min={0}
              minExclusive
              step="any"
              hint={`scale ${config.rslora ? 'α/√r' : 'α/r'} = ${loraScale(config).toFixed(3)}`}
              testId="alpha"
              problem={problemFor('alpha')}
              onCommit={num('alpha')} onDraft={draft('alpha')}
            />
          )}
          {uses.dropout && (
            <NumberField label="Dropout" value={config.dropout} min={0} max={0.99} step={0.05} testId="dropout" problem={problemFor('dropout')} onCommit={num('dropout')} onDraft={draft('dropout')} />
          )}
        </div>
      )}
      {uses.moraType && (
        <fieldset className="inline-choice">
          <legend>MoRA type</legend>
          {([1, 6] as const).map((t) => (
            <label key={t}>
              <input type="radio" name="mora-type" checked={config.moraType === t} onChange={() => set('moraType', t)} data-testid={`mora-type-${t}`} />
              {t === 1 ? 'Type 1: sharing (large r)' : 'Type 6: rotation (small r)'}
            </label>
          ))}
        </fieldset>
      )}
      {uses.targets && (
        <fieldset className="inline-choice" aria-describedby={targetsNote} aria-invalid={problemFor('targets') !== null}>
          <legend>Target modules</legend>
          {LINEAR_MODULES.map((m) => (
            <label key={m}>
              <input type="checkbox" checked={config.targets.includes(m)} onChange={(e) => setTarget(m, e.currentTarget.checked)} data-testid={`target-${m}`} />
              {MODULE_LABELS[m]}
            </label>
          ))}
          <span id={targetsNote} className={problemFor('targets') ? 'field-error' : 'field-hint'} data-testid={problemFor('targets') ? 'targets-error' : undefined}>
            {problemFor('targets') ?? 'Attention q, k, v, o and the MLP gate, up, down projections of every layer.'}
          </span>
        </fieldset>
      )}
      <div className="settings settings-3">
        <NumberField label="Learning rate" value={config.lr} min={0} minExclusive step="any" testId="lr" problem={problemFor('lr')} onCommit={num('lr')} onDraft={draft('lr')} />
        <div className="field">
          <label htmlFor={scheduleId}>Schedule</label>
          <select id={scheduleId} value={config.schedule} onChange={(e) => set('schedule', e.currentTarget.value as ScheduleKind)} data-testid="schedule">
            {SCHEDULES.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </div>
        <NumberField label="Warmup steps" value={config.warmup} min={0} step={1} integer testId="warmup" problem={problemFor('warmup')} onCommit={num('warmup')} onDraft={draft('warmup')} />
        <NumberField label="Steps" value={config.steps} min={1} step={1} integer testId="steps" problem={problemFor('steps')} onCommit={num('steps')} onDraft={draft('steps')} />
        <NumberField label="Batch" value={config.batch} min={1} step={1} integer hint="sequences per step" testId="batch" problem={problemFor('batch')} onCommit={num('batch')} onDraft={draft('batch')} />
        <NumberField
          label="Sequence length"
          value={config.seq}
          min={1}
          step={1}
          integer
          hint={context ? `model context ${context}` : undefined}
          testId="seq"
          problem={problemFor('seq')}
          onCommit={num('seq')} onDraft={draft('seq')}
        />
        <NumberField label="Seed" value={config.seed} min={0} step={1} integer testId="train-seed" problem={problemFor('seed')} onCommit={num('seed')} onDraft={draft('seed')} />
        <NumberField label="Eval every" value={config.evalEvery} min={0} step={1} integer hint="steps; 0 = at the end" testId="eval-every" problem={problemFor('evalEvery')} onCommit={num('evalEvery')} onDraft={draft('evalEvery')} />
      </div>
      <RecomputeToggle />
      <details className="more-settings">
        <summary>More settings</summary>
        <div className="settings settings-3">
          <NumberField label="Gradient accumulation" value={config.gradAccum} min={1} step={1} integer testId="grad-accum" problem={problemFor('gradAccum')} onCommit={num('gradAccum')} onDraft={draft('gradAccum')} />
          <NumberField label="Eval batches" value={config.evalBatches} min={0} step={1} integer hint="0 = all" testId="eval-batches" problem={problemFor('evalBatches')} onCommit={num('evalBatches')} onDraft={draft('evalBatches')} />
          <NumberField label="Weight decay" value={config.weightDecay} min={0} step="any" testId="weight-decay" problem={problemFor('weightDecay')} onCommit={num('weightDecay')} onDraft={draft('weightDecay')} />
          <NumberField label="Max grad norm" value={config.maxGradNorm} min={0} step="any" hint="0 = no clipping" testId="max-grad-norm" problem={problemFor('maxGradNorm')} onCommit={num('maxGradNorm')} onDraft={draft('maxGradNorm')} />
          <GpuBudgetField />
        </div>
      </details>
      {elsewhere && (
        <p className="inline-error" role="alert" data-testid="config-error">
          {FIELD_LABELS[elsewhere.field] ?? 'Settings'}: {elsewhere.message}
        </p>
      )}
    </div>
  );
}
