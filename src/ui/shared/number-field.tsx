/**
 * A labelled number input that commits only valid values and says what is wrong otherwise; the
 * invalid text can be reported (onDraft) so what the page shows is what blocks a run.
 */
import { useEffect, useId, useRef, useState } from 'react';

interface Props {
  label: string;
  value: number;
  min: number;
  max?: number;
  step: number | 'any';
  integer?: boolean;
  /** `min` itself is not allowed (e.g. top-p > 0). */
  minExclusive?: boolean;
  hint?: string;
  /** A problem found elsewhere (e.g. by validateTrainConfig) with the committed value. */
  problem?: string | null;
  testId?: string;
  onCommit(value: number): void;
  onValidity?(valid: boolean): void;
  /** The text while it is invalid and its error; null once it is valid again or the field goes away. */
  onDraft?(draft: { raw: string; error: string } | null): void;
}

export function NumberField({ label, value, min, max, step, integer, minExclusive, hint, problem, testId, onCommit, onValidity, onDraft }: Props) {
  const id = useId();
  const [text, setText] = useState(String(value));
  const [error, setError] = useState<string | null>(null);
  const report = useRef(onDraft);
  report.current = onDraft;
  useEffect(() => report.current?.(error === null ? null : { raw: text, error }), [text, error]);
  useEffect(() => () => report.current?.(null), []);
  // A value changed elsewhere (e.g. clamped to a new model's context) replaces the text.
  const [shownValue, setShownValue] = useState(value);
  if (value !== shownValue) {
    setShownValue(value);
    if (Number(text) !== value) {
      setText(String(value));
      setError(null);
    }
  }

  const check = (raw: string): string | null => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) return 'Enter a number.';
    if (integer && !Number.isInteger(n)) return 'Enter a whole number.';
    if (minExclusive ? n <= min : n < min) return minExclusive ? `More than ${min}.` : `At least ${min}.`;
    if (max !== undefined && n > max) return `At most ${max}.`;
    return null;
  };

  const shown = error ?? problem ?? null;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        min={min}
        max={max}
        step={step}
        value={text}
        aria-invalid={shown !== null}
        aria-describedby={shown || hint ? `${id}-note` : undefined}
        data-testid={testId}
        onChange={(e) => {
          const raw = e.currentTarget.value;
          const bad = check(raw);
          setText(raw);
          setError(bad);
          onValidity?.(bad === null);
          if (bad === null) onCommit(Number(raw));
        }}
      />
      {(shown || hint) && (
        <span id={`${id}-note`} className={shown ? 'field-error' : 'field-hint'} data-testid={shown && testId ? `${testId}-error` : undefined}>
          {shown ?? hint}
        </span>
      )}
    </div>
  );
}
