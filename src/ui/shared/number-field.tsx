/** A labelled number input that commits only valid values and says what is wrong otherwise. */
import { useId, useState } from 'react';

interface Props {
  label: string;
  value: number;
  min: number;
  max?: number;
  step: number;
  integer?: boolean;
  /** `min` itself is not allowed (e.g. top-p > 0). */
  minExclusive?: boolean;
  hint?: string;
  testId?: string;
  onCommit(value: number): void;
  onValidity(valid: boolean): void;
}

export function NumberField({ label, value, min, max, step, integer, minExclusive, hint, testId, onCommit, onValidity }: Props) {
  const id = useId();
  const [text, setText] = useState(String(value));
  const [error, setError] = useState<string | null>(null);

  const check = (raw: string): string | null => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) return 'Enter a number.';
    if (integer && !Number.isInteger(n)) return 'Enter a whole number.';
    if (minExclusive ? n <= min : n < min) return minExclusive ? `More than ${min}.` : `At least ${min}.`;
    if (max !== undefined && n > max) return `At most ${max}.`;
    return null;
  };

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
        aria-invalid={error !== null}
        aria-describedby={error || hint ? `${id}-note` : undefined}
        data-testid={testId}
        onChange={(e) => {
          const raw = e.currentTarget.value;
          const problem = check(raw);
          setText(raw);
          setError(problem);
          onValidity(problem === null);
          if (problem === null) onCommit(Number(raw));
        }}
      />
      {(error || hint) && (
        <span id={`${id}-note`} className={error ? 'field-error' : 'field-hint'}>
          {error ?? hint}
        </span>
      )}
    </div>
  );
}
