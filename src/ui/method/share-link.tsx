/** "Copy link": the page's address with the current settings; and what was wrong with the link the page was opened with. */
import { useState } from 'react';
import { useAppStore } from '../../store/store.ts';
import { currentLink } from '../../store/url-sync.ts';

export function UrlMessage() {
  const message = useAppStore((s) => s.urlMessage);
  const dismiss = useAppStore((s) => s.setUrlMessage);
  if (!message) return null;
  return (
    <div className="inline-error" role="alert" data-testid="url-error">
      <p>{message}</p>
      <button type="button" className="secondary" onClick={() => dismiss(null)}>
        Dismiss
      </button>
    </div>
  );
}

export function CopyLink() {
  const [note, setNote] = useState<string | null>(null);
  const copy = async () => {
    const link = currentLink(useAppStore.getState());
    try {
      await navigator.clipboard.writeText(link);
      setNote('Link copied: it opens the studio with these settings.');
    } catch {
      setNote(`Copy this link: ${link}`); // no clipboard permission: show it to copy by hand
    }
  };
  return (
    <div className="actions">
      <button type="button" onClick={() => void copy()} data-testid="copy-link">
        Copy link
      </button>
      {note && (
        <span className="hint" role="status" data-testid="copy-link-note">
          {note}
        </span>
      )}
    </div>
  );
}
