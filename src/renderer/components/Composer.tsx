import { useRef, useState, type KeyboardEvent } from 'react';

interface Props { peerName: string; onSend(text: string): Promise<boolean> }

const MAX_CHARS = 16_000;

/** Enter sends, Shift+Enter adds a line. The text stays in the box until the host accepted it. */
export function Composer({ peerName, onSend }: Props) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const submit = async () => {
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    const ok = await onSend(body);
    setBusy(false);
    if (ok) setText('');
    inputRef.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    }
  };

  const tooLong = text.length > MAX_CHARS;
  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <label htmlFor="composer-input" className="visually-hidden">Message to {peerName}</label>
      <textarea
        id="composer-input"
        ref={inputRef}
        data-testid="composer-input"
        rows={2}
        autoFocus
        value={text}
        placeholder={`Message ${peerName} (Enter sends, Shift+Enter for a new line)`}
        aria-invalid={tooLong ? 'true' : undefined}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      {tooLong && <p className="error" role="alert">Too long: {text.length} of at most {MAX_CHARS} characters. Split it into several messages.</p>}
      <button type="submit" data-testid="send-button" disabled={busy || tooLong || !text.trim()}>Send</button>
    </form>
  );
}
