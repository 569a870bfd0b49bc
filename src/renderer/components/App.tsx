import { useEffect, useRef, useState } from 'react';
import type { TransportState } from '../api/ws-client';
import { useUi } from '../state/context';
import { AddContactDialog } from './AddContactDialog';
import { ChatView } from './ChatView';
import { ConnectionPanel } from './ConnectionPanel';
import { ContactsPanel } from './ContactsPanel';
import { IdentityCard } from './IdentityCard';
import { Notices } from './Notices';
import { SettingsDialog } from './SettingsDialog';

interface Props { transport: TransportState }

export function App({ transport }: Props) {
  const loadError = useUi((s) => s.loadError);
  const start = useUi((s) => s.start);
  const [dialog, setDialog] = useState<'none' | 'add-contact' | 'settings'>('none');
  const close = () => setDialog('none');

  // Events sent while the link to the host was down are lost: reload everything once it is back.
  const wasDown = useRef(false);
  useEffect(() => {
    if (transport.state === 'closed') wasDown.current = true;
    if (transport.state === 'open' && wasDown.current) {
      wasDown.current = false;
      void start();
    }
  }, [transport.state, start]);

  return (
    <div className="app">
      <TransportBanner transport={transport} />
      <Notices />
      <header className="topbar">
        <IdentityCard />
        <ConnectionPanel />
        <button type="button" className="settings-button" data-testid="settings-button" onClick={() => setDialog('settings')}>
          Settings
        </button>
      </header>
      {loadError ? (
        <main className="load-error" role="alert" data-testid="load-error">
          <p>{loadError}</p>
          <p>Check that the Parley process is still running, then press Reload.</p>
          <button type="button" onClick={() => { void start(); }}>Reload</button>
        </main>
      ) : (
        <div className="body">
          <ContactsPanel onAddContact={() => setDialog('add-contact')} />
          <ChatView />
        </div>
      )}
      <AddContactDialog open={dialog === 'add-contact'} onClose={close} />
      <SettingsDialog open={dialog === 'settings'} onClose={close} />
    </div>
  );
}

function TransportBanner({ transport }: Props) {
  switch (transport.state) {
    case 'open':
      return null;
    case 'connecting':
      return transport.attempt === 0 ? null : (
        <div className="banner" role="status" data-testid="transport-state">Reconnecting to the Parley host (attempt {transport.attempt})…</div>
      );
    case 'closed':
      return (
        <div className="banner banner-warn" role="status" data-testid="transport-state">
          Lost the connection to the Parley host; retrying in {Math.ceil(transport.retryInMs / 1000)} s. If it does not come back, check that `parley web` is still running.
        </div>
      );
    case 'rejected':
      return <div className="banner banner-error" role="alert" data-testid="transport-error">{transport.reason}</div>;
  }
}
