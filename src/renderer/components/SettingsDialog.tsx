import { useState, type FormEvent } from 'react';
import type { Settings } from '../../shared/api';
import { useUi } from '../state/context';
import { Dialog } from './Dialog';
import { checkFileFields, checkSettings, gibText } from '../state/validate';

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
  const [mailbox, setMailbox] = useState(initial.mailbox);
  const [signal, setSignal] = useState(initial.signalUrls.join('\n'));
  const [registry, setRegistry] = useState(initial.registryUrl ?? '');
  const [networkId, setNetworkId] = useState(initial.networkId);
  const [discoverable, setDiscoverable] = useState(initial.discoverable);
  const [coordinator, setCoordinator] = useState(initial.coordinator);
  const [allowRelay, setAllowRelay] = useState(initial.allowRelay);
  const [downloadsDir, setDownloadsDir] = useState(initial.downloadsDir);
  const [maxGib, setMaxGib] = useState(gibText(initial.maxFileBytes));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = checkSettings(name, broker, ice, mailbox, { signalText: signal, registryText: registry, networkId, discoverable });
    if (!checked.ok) {
      setError(checked.message);
      return;
    }
    const fileFields = checkFileFields(downloadsDir, maxGib, initial.maxFileBytes);
    if (!fileFields.ok) {
      setError(fileFields.message);
      return;
    }
    setBusy(true);
    const ok = await saveSettings({ ...checked.patch, ...fileFields.patch, coordinator, allowRelay });
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
      <label htmlFor="settings-mailbox">Mailbox for offline contacts (HOST:PORT,… of a node or cluster; empty = built-in; none = off)</label>
      <input id="settings-mailbox" data-testid="settings-mailbox" spellCheck={false} value={mailbox} placeholder="built-in" onChange={(e) => setMailbox(e.target.value)} />
      <fieldset className="settings-reach">
        <legend>Finding contacts (discovery)</legend>
        <label htmlFor="settings-signal">WebSocket signal servers, one per line (ws://HOST:PORT or wss://HOST)</label>
        <textarea id="settings-signal" data-testid="settings-signal" rows={2} spellCheck={false} value={signal} placeholder="none" onChange={(e) => setSignal(e.target.value)} />
        <label htmlFor="settings-registry">Registry URL (empty = none)</label>
        <input id="settings-registry" data-testid="settings-registry" spellCheck={false} value={registry} placeholder="e.g. http://127.0.0.1:18886" onChange={(e) => setRegistry(e.target.value)} />
        <label htmlFor="settings-network">Network id at the registry</label>
        <input id="settings-network" data-testid="settings-network" spellCheck={false} maxLength={64} value={networkId} onChange={(e) => setNetworkId(e.target.value)} />
        <label className="checkbox">
          <input type="checkbox" data-testid="settings-discoverable" checked={discoverable} onChange={(e) => setDiscoverable(e.target.checked)} />
          {' '}Tell my contacts how to reach my other contacts when they ask (PEER_QUERY)
        </label>
        <label className="checkbox">
          <input type="checkbox" data-testid="settings-coordinator" checked={coordinator} onChange={(e) => setCoordinator(e.target.checked)} />
          {' '}Hold messages for my contacts while they are offline (sealed, so I can't read them; up to 500 per contact, kept 7 days)
        </label>
        <label className="checkbox">
          <input type="checkbox" data-testid="settings-relay" checked={allowRelay} onChange={(e) => setAllowRelay(e.target.checked)} />
          {' '}Relay for my contacts: carry messages between two of them who can't connect directly (sealed, so I can't read them; uses my bandwidth and shows me who talks to whom)
        </label>
      </fieldset>
      <fieldset className="settings-files">
        <legend>Files</legend>
        <label htmlFor="settings-downloads">Downloads folder (received files are saved here once their SHA-256 is checked)</label>
        <input id="settings-downloads" data-testid="settings-downloads" spellCheck={false} value={downloadsDir} onChange={(e) => setDownloadsDir(e.target.value)} />
        <label htmlFor="settings-max-file">Largest file to accept, in GiB (larger offers are declined automatically)</label>
        <input id="settings-max-file" data-testid="settings-max-file" inputMode="decimal" spellCheck={false} value={maxGib} onChange={(e) => setMaxGib(e.target.value)} />
      </fieldset>
      <p className="hint" data-testid="settings-restart-hint">
        Signal servers, registry URL, network id, the display name, the file settings and the checkboxes above apply at once.
        A new broker URL, ICE servers or mailbox take effect the next time Parley starts.
      </p>
      {error && <p className="error" role="alert" data-testid="settings-error">{error}</p>}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="submit" data-testid="settings-save" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      </div>
    </form>
  );
}
