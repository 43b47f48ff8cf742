/** Pasted training text: plain text (paragraphs are documents) or JSONL records. */
import { useId } from 'react';
import { pastedFormat } from '../../store/data-slice.ts';
import { useAppStore } from '../../store/store.ts';
import type { DataFormat } from '../../train/data.ts';

export function PasteData() {
  const textId = useId();
  const formatId = useId();
  const text = useAppStore((s) => s.pasteText);
  const setText = useAppStore((s) => s.setPasteText);
  const format = useAppStore((s) => s.pasteFormat);
  const setFormat = useAppStore((s) => s.setPasteFormat);
  const chooseData = useAppStore((s) => s.chooseData);
  const submit = () => {
    const f = pastedFormat(text, format);
    void chooseData({ kind: 'text', fileName: f === 'jsonl' ? 'pasted.jsonl' : 'pasted.txt', text, format: f });
  };
  return (
    <div className="paste">
      <div className="field">
        <label htmlFor={textId}>Training text</label>
        <textarea
          id={textId}
          rows={6}
          value={text}
          placeholder={'Plain text (blank lines separate documents), or JSONL: {"text": "..."} or {"prompt": "...", "completion": "..."} per line'}
          data-testid="paste-text"
          onChange={(e) => setText(e.currentTarget.value)}
        />
      </div>
      <div className="actions">
        <label htmlFor={formatId}>Format</label>
        <select id={formatId} value={format} onChange={(e) => setFormat(e.currentTarget.value as DataFormat | 'auto')} data-testid="paste-format">
          <option value="auto">Detect</option>
          <option value="text">Plain text</option>
          <option value="jsonl">JSONL</option>
        </select>
        <button type="button" className="primary" disabled={text.trim() === ''} onClick={submit} data-testid="paste-use">
          Tokenise
        </button>
      </div>
    </div>
  );
}
