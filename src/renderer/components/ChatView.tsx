import { useState } from 'react';
import { useUi } from '../state/context';
import { peerStateLabel, presenceLabel, shortId } from '../format';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { FileButton, FileList, useFileDrop } from './FileTransfers';
import { NetworkPanel } from './NetworkPanel';

const EMPTY: never[] = [];

export function ChatView() {
  const activeChat = useUi((s) => s.activeChat);
  const contact = useUi((s) => s.contacts.find((c) => c.userId === s.activeChat));
  const peer = useUi((s) => (s.activeChat ? s.peers[s.activeChat] : undefined));
  const messages = useUi((s) => (s.activeChat ? s.messages[s.activeChat] ?? EMPTY : EMPTY));
  const myId = useUi((s) => s.me?.userId ?? '');
  const send = useUi((s) => s.send);
  const drop = useFileDrop(activeChat ?? '');
  const [showNetwork, setShowNetwork] = useState(false);

  if (!activeChat) {
    return (
      <main className="chat chat-empty" data-testid="chat-placeholder">
        <p>Pick a contact on the left to start chatting.</p>
      </main>
    );
  }
  const name = contact?.name || shortId(activeChat);
  return (
    <main className={`chat${drop.over ? ' chat-drop' : ''}`} data-testid="chat-view" aria-label={`Chat with ${name}`} {...drop.handlers}>
      <header className="chat-header">
        <h2>{name}</h2>
        {contact && <span className={`presence-text presence-text-${contact.presence}`} data-testid="chat-presence">{presenceLabel(contact.presence)}</span>}
        {peer && <span className="hint" data-testid="chat-connection">{peerStateLabel(peer)}</span>}
        <FileButton peer={activeChat} peerName={name} />
        <button type="button" data-testid="network-button" aria-expanded={showNetwork} aria-controls="network-panel"
          onClick={() => setShowNetwork((v) => !v)}>{showNetwork ? 'Hide network' : 'Network'}</button>
      </header>
      {showNetwork && <div id="network-panel"><NetworkPanel key={activeChat} userId={activeChat} name={name} /></div>}
      <MessageList key={activeChat} messages={messages} myId={myId} peerName={name} />
      <FileList peer={activeChat} peerName={name} />
      <Composer key={`composer-${activeChat}`} peerName={name} onSend={send} />
    </main>
  );
}
