import type { Contact } from '../../shared/api';
import { useUi } from '../state/context';
import { presenceLabel, shortId } from '../format';

interface Props { onAddContact(): void }

export function ContactsPanel({ onAddContact }: Props) {
  const contacts = useUi((s) => s.contacts);
  const activeChat = useUi((s) => s.activeChat);
  const openChat = useUi((s) => s.openChat);
  const respond = useUi((s) => s.respond);
  const block = useUi((s) => s.block);
  const clearRequests = useUi((s) => s.clearRequests);

  const incoming = contacts.filter((c) => c.state === 'incoming');
  const outgoing = contacts.filter((c) => c.state === 'outgoing');
  const accepted = contacts.filter((c) => c.state === 'accepted').sort((a, b) => a.name.localeCompare(b.name));

  return (
    <nav className="contacts" aria-label="Contacts">
      <div className="contacts-header">
        <h2>Contacts</h2>
        <button type="button" data-testid="add-contact-button" onClick={onAddContact}>Add contact</button>
      </div>

      {incoming.length > 0 && (
        <section aria-label="Contact requests" className="requests">
          <div className="requests-header">
            <h3>Requests ({incoming.length})</h3>
            <button type="button" data-testid="clear-requests" onClick={() => { void clearRequests(); }}>Clear all</button>
          </div>
          <ul>
            {incoming.map((c) => (
              <li key={c.userId} data-testid={`request-${c.userId}`} className="request">
                <span className="contact-name">{displayName(c)}</span>
                <code className="contact-id" title={c.userId}>{shortId(c.userId)}</code>
                <span className="request-actions">
                  <button type="button" data-testid={`accept-${c.userId}`} aria-label={`Accept ${displayName(c)}`}
                    onClick={() => { void respond(c.userId, true); }}>Accept</button>
                  <button type="button" data-testid={`decline-${c.userId}`} aria-label={`Decline ${displayName(c)}`}
                    onClick={() => { void respond(c.userId, false); }}>Decline</button>
                  <button type="button" data-testid={`block-${c.userId}`} aria-label={`Block ${displayName(c)}`}
                    onClick={() => { void block(c.userId); }}>Block</button>
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}

      {accepted.length === 0 && incoming.length === 0 && outgoing.length === 0 ? (
        <p className="empty" data-testid="contacts-empty">
          No contacts yet. Press “Add contact” and paste a friend&rsquo;s userId.
        </p>
      ) : (
        <ul className="contact-list">
          {accepted.map((c) => (
            <li key={c.userId}>
              <button
                type="button"
                className={`contact ${activeChat === c.userId ? 'active' : ''}`}
                data-testid={`contact-${c.userId}`}
                aria-current={activeChat === c.userId ? 'true' : undefined}
                onClick={() => { void openChat(c.userId); }}
              >
                <span
                  className={`presence presence-${c.presence}`}
                  data-testid={`presence-${c.userId}`}
                  data-presence={c.presence}
                  role="img"
                  aria-label={presenceLabel(c.presence)}
                  title={presenceLabel(c.presence)}
                />
                <span className="contact-name">{displayName(c)}</span>
              </button>
            </li>
          ))}
          {outgoing.map((c) => (
            <li key={c.userId} className="contact pending" data-testid={`outgoing-${c.userId}`}>
              <span className="contact-name">{displayName(c)}</span>
              <span className="hint">waiting for them to accept</span>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}

function displayName(c: Contact): string {
  return c.name || shortId(c.userId);
}
