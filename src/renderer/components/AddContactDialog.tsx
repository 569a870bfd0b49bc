import { useState, type FormEvent } from 'react';
import { useUi } from '../state/context';
import { Dialog } from './Dialog';
import { validateUserIdInput } from '../state/validate';

interface Props { open: boolean; onClose(): void }

export function AddContactDialog({ open, onClose }: Props) {
  return (
    <Dialog open={open} title="Add a contact" onClose={onClose} testId="add-contact-dialog">
      {open && <AddContactForm onClose={onClose} />}
    </Dialog>
  );
}

function AddContactForm({ onClose }: { onClose(): void }) {
  const ownId = useUi((s) => s.me?.userId);
  const addContact = useUi((s) => s.addContact);
  const [userId, setUserId] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = validateUserIdInput(userId, ownId);
    if (!checked.ok) {
      setError(checked.message);
      return;
    }
    setBusy(true);
    const ok = await addContact(checked.userId, name.trim() || undefined);
    setBusy(false);
    if (ok) onClose();
    else setError('The request was not sent; see the message at the top and try again.');
  };

  return (
    <form onSubmit={(e) => { void submit(e); }} noValidate>
      <label htmlFor="add-contact-user-id">Their userId</label>
      <input
        id="add-contact-user-id"
        data-testid="add-contact-input"
        autoFocus
        autoComplete="off"
        spellCheck={false}
        value={userId}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? 'add-contact-error' : undefined}
        onChange={(e) => { setUserId(e.target.value); setError(null); }}
        placeholder="64 hexadecimal characters"
      />
      <label htmlFor="add-contact-name">Name (optional)</label>
      <input id="add-contact-name" data-testid="add-contact-name" maxLength={64} value={name} onChange={(e) => setName(e.target.value)} />
      {error && <p id="add-contact-error" className="error" role="alert" data-testid="add-contact-error">{error}</p>}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="submit" data-testid="add-contact-submit" disabled={busy}>{busy ? 'Sending…' : 'Send request'}</button>
      </div>
    </form>
  );
}
