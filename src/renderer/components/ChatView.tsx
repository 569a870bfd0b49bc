import { useUi } from '../state/context';
import { peerStateLabel, presenceLabel, shortId } from '../format';
import { Composer } from './Composer';
import { MessageList } from './MessageList';

const EMPTY: never[] = [];

export function ChatView() {
  const activeChat = useUi((s) => s.activeChat);
  const contact = useUi((s) => s.contacts.find((c) => c.userId === s.activeChat));
  const peer = useUi((s) => (s.activeChat ? s.peers[s.activeChat] : undefined));
  const messages = useUi((s) => (s.activeChat ? s.messages[s.activeChat] ?? EMPTY : EMPTY));
  const myId = useUi((s) => s.me?.userId ?? '');
  const send = useUi((s) => s.send);

  if (!activeChat) {
    return (
      <main className="chat chat-empty" data-testid="chat-placeholder">
        <p>Pick a contact on the left to start chatting.</p>
      </main>
    );
  }
  const name = contact?.name || shortId(activeChat);
  return (
    <main className="chat" data-testid="chat-view" aria-label={`Chat with ${name}`}>
      <header className="chat-header">
        <h2>{name}</h2>
        {contact && <span className={`presence-text presence-text-${contact.presence}`} data-testid="chat-presence">{presenceLabel(contact.presence)}</span>}
        {peer && <span className="hint" data-testid="chat-connection">{peerStateLabel(peer)}</span>}
      </header>
      <MessageList key={activeChat} messages={messages} myId={myId} peerName={name} />
      <Composer key={`composer-${activeChat}`} peerName={name} onSend={send} />
    </main>
  );
}
