/** A drop zone with a labelled multiple-file input inside, so it works by mouse, drag and keyboard. */
import { useEffect, useId, useState, type DragEvent } from 'react';

interface Props {
  disabled: boolean;
  onFiles(files: File[]): void;
}

const ACCEPT = '.bin,.json,.safetensors,.model';

export function FileDropZone({ disabled, onFiles }: Props) {
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
      data-testid="drop-zone"
      onDragOver={onDragOver}
      onDragEnter={onDragOver}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <label htmlFor={inputId} className="drop-label">
        Model files
      </label>
      <input
        id={inputId}
        type="file"
        multiple
        accept={ACCEPT}
        disabled={disabled}
        aria-describedby={hintId}
        data-testid="model-files"
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
