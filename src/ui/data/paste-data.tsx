/** Pasted training text: plain text (paragraphs are documents) or JSONL records; empty text is said to be so. */
import { useId } from 'react';
import { pasteSource } from '../../store/data-slice.ts';
import { useAppStore } from '../../store/store.ts';
import type { DataFormat } from '../../schema/data.ts';

export function PasteData() {
  const textId = useId();
  const formatId = useId();
  const text = useAppStore((s) => s.pasteText);
  const setText = useAppStore((s) => s.setPasteText);
  const format = useAppStore((s) => s.pasteFormat);
  const setFormat = useAppStore((s) => s.setPasteFormat);
  const chooseData = useAppStore((s) => s.chooseData);
  const empty = text.trim() === '';
  return (
    <div className="paste">
      <div className="field">
        <label htmlFor={textId}>Training text</label>
        <textarea
          id={textId}
          rows={6}
          value={text}
          placeholder={'Plain text (blank lines separate documents), or JSONL: {"text": "..."} or {"prompt": "...", "completion": "..."} per line'}
          aria-invalid={empty}
          aria-describedby={empty ? `${textId}-empty` : undefined}
          data-testid="paste-text"
          onChange={(e) => setText(e.currentTarget.value)}
        />
        {empty && (
          <span id={`${textId}-empty`} className="field-error" data-testid="paste-empty">
            Paste some text to train on.
          </span>
        )}
      </div>
      <div className="actions">
        <label htmlFor={formatId}>Format</label>
        <select id={formatId} value={format} onChange={(e) => setFormat(e.currentTarget.value as DataFormat | 'auto')} data-testid="paste-format">
          <option value="auto">Detect</option>
          <option value="text">Plain text</option>
          <option value="jsonl">JSONL</option>
        </select>
        <button type="button" className="primary" disabled={empty} onClick={() => void chooseData(pasteSource(text, format), 'paste')} data-testid="paste-use">
          Tokenise
        </button>
      </div>
    </div>
  );
}
