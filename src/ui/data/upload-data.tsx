/** A .txt or .jsonl file from disk, sent as bytes: the engine decodes it (UTF-8 only) and tokenises it. */
import { useId } from 'react';
import { useAppStore } from '../../store/store.ts';

export function UploadData() {
  const id = useId();
  const chooseData = useAppStore((s) => s.chooseData);
  const source = useAppStore((s) => s.dataSource);
  return (
    <div className="field upload">
      <label htmlFor={id}>Data file (.txt, .jsonl)</label>
      <input
        id={id}
        type="file"
        accept=".txt,.text,.md,.jsonl,.ndjson,.json"
        data-testid="data-upload"
        onChange={async (e) => {
          const file = e.currentTarget.files?.[0];
          e.currentTarget.value = '';
          if (file) void chooseData({ kind: 'file', fileName: file.name, bytes: new Uint8Array(await file.arrayBuffer()), format: 'auto' });
        }}
      />
      {source?.kind === 'file' && <span className="field-hint">Using {source.fileName}</span>}
    </div>
  );
}
