import { useUi } from '../state/context';
import { needsRetry, peerStateLabel, shortId, signalingLabel } from '../format';

export function ConnectionPanel() {
  const signaling = useUi((s) => s.signaling);
  const peers = useUi((s) => s.peers);
  const contacts = useUi((s) => s.contacts);
  const retry = useUi((s) => s.retry);
  const nameOf = (userId: string) => contacts.find((c) => c.userId === userId)?.name || shortId(userId);
  const list = Object.values(peers).sort((a, b) => nameOf(a.userId).localeCompare(nameOf(b.userId)));

  return (
    <section className="connection" aria-label="Connection status">
      <p className={`signaling signaling-${signaling.state}`} data-testid="signaling-state" data-state={signaling.state} role="status">
        <span className="dot" aria-hidden="true" /> {signalingLabel(signaling.state, signaling.attempt)}
      </p>
      {list.length > 0 && (
        <ul className="peers" aria-label="Peer connections">
          {list.map((peer) => (
            <li key={peer.userId} className={`peer peer-${peer.state.toLowerCase()}`}>
              <span className="peer-name">{nameOf(peer.userId)}</span>{' '}
              <span data-testid={`peer-state-${peer.userId}`} data-state={peer.state} role="status">
                {peerStateLabel(peer)}
              </span>
              {needsRetry(peer.state) && <span className="hint">messages wait and go out once a path exists</span>}
              {needsRetry(peer.state) && (
                <button
                  type="button"
                  data-testid={`retry-${peer.userId}`}
                  aria-label={`Retry connecting to ${nameOf(peer.userId)}`}
                  onClick={() => { void retry(peer.userId); }}
                >
                  Retry
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
