import { useState } from 'react';
import { useUi } from '../state/context';

export function IdentityCard() {
  const me = useUi((s) => s.me);
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  if (!me) return <section className="identity" aria-busy="true">Loading your profile…</section>;

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(me.userId);
      setCopied('copied');
    } catch {
      setCopied('failed');
    }
    setTimeout(() => setCopied('idle'), 2500);
  };

  return (
    <section className="identity" aria-label="Your identity">
      <div className="identity-name" data-testid="my-name">{me.name || 'Unnamed'}</div>
      <div className="identity-id-row">
        <label htmlFor="my-user-id" className="visually-hidden">Your userId</label>
        <input
          id="my-user-id"
          className="identity-id"
          data-testid="my-user-id"
          readOnly
          value={me.userId}
          onFocus={(e) => e.currentTarget.select()}
          title="Give this userId to people who want to add you"
        />
        <button type="button" data-testid="copy-user-id" onClick={() => { void copy(); }}>
          {copied === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="hint" role="status">
        {copied === 'failed'
          ? 'Copy was blocked by the browser: the userId is selected, press Ctrl+C.'
          : 'Share your userId so others can add you.'}
      </p>
    </section>
  );
}
