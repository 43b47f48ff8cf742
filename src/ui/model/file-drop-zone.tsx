/** A drop zone with a labelled multiple-file input inside, so it works by mouse, drag and keyboard. */
import { useEffect, useId, useState, type DragEvent } from 'react';

interface Props {
  disabled: boolean;
  onFiles(files: File[]): void;
  /** The input's visible label (default "Model files"). */
  label?: string;
  /** File types the picker offers (default model and tokenizer files). */
  accept?: string;
  /** data-testid of the input (default "model-files"). */
  testId?: string;
  /** data-testid of the zone around it (default "drop-zone"). */
  zoneTestId?: string;
}

const ACCEPT = '.bin,.json,.safetensors,.model';

export function FileDropZone({ disabled, onFiles, label = 'Model files', accept = ACCEPT, testId = 'model-files', zoneTestId = 'drop-zone' }: Props) {
  const inputId = useId();
  const hintId = useId();
  const [over, setOver] = useState(false);

  // A file dropped next to the zone must not make the browser navigate away to open it.
  useEffect(() => {
    const swallow = (e: globalThis.DragEvent) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    };
    window.addEventListener('dragover', swallow);
    window.addEventListener('drop', swallow);
    return () => {
      window.removeEventListener('dragover', swallow);
      window.removeEventListener('drop', swallow);
    };
  }, []);

  const onDragOver = (e: DragEvent) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = disabled ? 'none' : 'copy';
    if (!disabled) setOver(true);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const files = [...e.dataTransfer.files];
    if (!disabled && files.length > 0) onFiles(files);
  };

  return (
    <div
      className={`drop-zone${over ? ' over' : ''}${disabled ? ' disabled' : ''}`}
      data-testid={zoneTestId}
      onDragOver={onDragOver}
      onDragEnter={onDragOver}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <label htmlFor={inputId} className="drop-label">
        {label}
      </label>
      <input
        id={inputId}
        type="file"
        multiple
        accept={accept}
        disabled={disabled}
        aria-describedby={hintId}
        data-testid={testId}
        onChange={(e) => {
          const files = [...(e.currentTarget.files ?? [])];
          e.currentTarget.value = ''; // choosing the same files again loads them again
          if (files.length > 0) onFiles(files);
        }}
      />
      <p id={hintId} className="hint">
        …or drop them here.
      </p>
    </div>
  );
}
