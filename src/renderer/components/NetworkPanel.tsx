import { useEffect } from 'react';
import { useUi } from '../state/context';
import {
  attemptWords, candidatePairWords, foundByWords, pathView, registryWords, serverRows, stepRows, theyConnected,
} from '../state/network';

interface Props { userId: string; name: string }

/** How this contact is reached (path, chain step, timings) and which signal servers we use. Live: store events. */
export function NetworkPanel({ userId, name }: Props) {
  const peer = useUi((s) => s.peers[userId]);
  const trace = useUi((s) => s.routes[userId]);
  const network = useUi((s) => s.network);
  const loadRoute = useUi((s) => s.loadRoute);
  useEffect(() => { void loadRoute(userId); }, [userId, loadRoute]);

  const path = pathView(peer);
  const pair = candidatePairWords(peer);
  const rows = stepRows(trace);
  const servers = serverRows(network);
  // When they called us, "found by" already says what our own search did.
  const attempt = theyConnected(trace, peer) ? null : attemptWords(trace);
  return (
    <section className="network-panel" aria-label={`Network details for ${name}`} data-testid="network-panel">
      <dl className="network-facts">
        <dt>Path</dt>
        <dd data-testid="network-path" data-path={path.kind}>{path.words}</dd>
        <dt>Found by</dt>
        <dd data-testid="network-found-by" data-step={theyConnected(trace, peer) ? 'peer-called' : trace?.winner ?? peer?.foundBy ?? ''}>{foundByWords(trace, peer)}</dd>
        {pair && (<><dt>Candidate pair</dt><dd data-testid="network-candidate-pair">{pair}</dd></>)}
      </dl>
      {attempt && <p className="hint" data-testid="network-attempt" data-result={trace?.result}>{attempt}</p>}
      <table className="network-steps" data-testid="network-steps">
        <caption className="visually-hidden">Discovery steps of the last attempt</caption>
        <thead><tr><th scope="col">Step</th><th scope="col">Time / budget</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.step} data-testid={`network-step-${r.step}`} data-outcome={r.outcome}
              className={`${r.winner ? 'step-winner' : ''}${r.overBudget ? ' step-over' : ''}`}>
              <th scope="row">{r.label}{r.winner ? ' ✓' : ''}</th>
              <td>{r.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Signal servers</h3>
      {servers.length === 0 ? (
        <p className="hint" data-testid="network-no-servers">{network ? 'None attached: this device cannot be signaled. Set a broker or signal server in Settings.' : 'Loading…'}</p>
      ) : (
        <ul className="network-servers" data-testid="network-servers">
          {servers.map((s) => (
            <li key={s.url} data-testid="network-server" data-state={s.state} data-kind={s.kind}>
              <code>{s.url}</code> <span className="hint">{s.kind}</span> <span className={`server-${s.state}`}>{s.words}</span>
            </li>
          ))}
        </ul>
      )}
      <p className="hint" data-testid="network-registry">Registry: {registryWords(network)}</p>
    </section>
  );
}
