import { useState, type FormEvent } from 'react';
import type { Settings } from '../../shared/api';
import { useUi } from '../state/context';
import { Dialog } from './Dialog';
import { checkSettings } from '../state/validate';

interface Props { open: boolean; onClose(): void }

export function SettingsDialog({ open, onClose }: Props) {
  const settings = useUi((s) => s.settings);
  return (
    <Dialog open={open} title="Settings" onClose={onClose} testId="settings-dialog">
      {open && settings && <SettingsForm initial={settings} onClose={onClose} />}
      {open && !settings && <p>Settings are still loading…</p>}
    </Dialog>
  );
}

function SettingsForm({ initial, onClose }: { initial: Settings; onClose(): void }) {
  const saveSettings = useUi((s) => s.saveSettings);
  const [name, setName] = useState(initial.displayName);
  const [broker, setBroker] = useState(initial.brokerUrl);
  const [ice, setIce] = useState(initial.iceServers.join('\n'));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = checkSettings(name, broker, ice);
    if (!checked.ok) {
      setError(checked.message);
      return;
    }
    setBusy(true);
    const ok = await saveSettings(checked.patch);
    setBusy(false);
    if (ok) onClose();
    else setError('Not saved; see the message at the top of the window.');
  };

  return (
    <form onSubmit={(e) => { void submit(e); }} noValidate>
      <label htmlFor="settings-name">Display name</label>
      <input id="settings-name" data-testid="settings-name" autoFocus maxLength={64} value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="settings-broker">Signaling broker URL</label>
      <input id="settings-broker" data-testid="settings-broker" spellCheck={false} value={broker} onChange={(e) => setBroker(e.target.value)} />
      <label htmlFor="settings-ice">ICE servers (STUN/TURN), one per line</label>
      <textarea id="settings-ice" data-testid="settings-ice" rows={4} spellCheck={false} value={ice} onChange={(e) => setIce(e.target.value)}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit(); }} />
      <p className="hint" data-testid="settings-restart-hint">A new broker URL or ICE servers take effect the next time Parley starts.</p>
      {error && <p className="error" role="alert" data-testid="settings-error">{error}</p>}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="submit" data-testid="settings-save" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      </div>
    </form>
  );
}
