import { afterEach, describe, expect, it } from 'vitest';
import { Blocklist } from '../../../src/main/host/blocklist';
import { ContactRequestGuard, DEFAULT_CONTACT_REQUEST_LIMITS } from '../../../src/main/host/contact-request-guard';
import { Contacts, REQUEST_RESEND_AFTER_MS, REQUEST_RESEND_EVERY_MS } from '../../../src/main/host/contacts';
import { openStore, type Store } from '../../../src/main/store';

const CAROL = 'c'.repeat(64);
let store: Store | undefined;
afterEach(() => store?.close());

function setup() {
  let clock = 0;
  store = openStore(':memory:');
  const sent: string[] = [];
  const contacts = new Contacts({
    store,
    selfName: () => 'alice',
    deviceId: 'dev-a',
    sendSignal: (to, type) => { sent.push(`${type}:${to}@${clock}`); },
    onRequest: () => undefined,
    onAccepted: () => undefined,
    onChanged: () => undefined,
    guard: new ContactRequestGuard(DEFAULT_CONTACT_REQUEST_LIMITS, () => clock),
    blocklist: new Blocklist(store),
    onRefused: () => undefined,
    now: () => clock,
  });
  /** Ticks once a second, as the host does, up to `until`. */
  const runUntil = (until: number) => {
    while (clock < until) {
      clock += 1_000;
      contacts.resendDue();
    }
  };
  return { contacts, sent, runUntil };
}

describe('unanswered contact requests', () => {
  it('are repeated 1, 2, 4 … 32 s after each send, then every minute', () => {
    const t = setup();
    t.contacts.add(CAROL, 'Carol');
    t.runUntil(63_000 + 2 * REQUEST_RESEND_EVERY_MS);
    let at = 0;
    const expected = [`contactRequest:${CAROL}@0`];
    for (const wait of [...REQUEST_RESEND_AFTER_MS, REQUEST_RESEND_EVERY_MS, REQUEST_RESEND_EVERY_MS]) {
      at += wait;
      expected.push(`contactRequest:${CAROL}@${at}`);
    }
    expect(t.sent).toEqual(expected);
  });

  it('stop once answered', () => {
    const t = setup();
    t.contacts.add(CAROL, 'Carol');
    t.runUntil(3_000);
    expect(t.sent).toHaveLength(3);
    t.contacts.onResponse(CAROL, true, 'Carol');
    t.runUntil(200_000);
    expect(t.sent).toHaveLength(3);
  });

  it('start over on reconnect', () => {
    const t = setup();
    t.contacts.add(CAROL, 'Carol');
    t.runUntil(70_000);
    const before = t.sent.length;
    t.contacts.resendOutgoing();
    t.runUntil(71_000);
    expect(t.sent.slice(before)).toEqual([`contactRequest:${CAROL}@70000`, `contactRequest:${CAROL}@71000`]);
  });
});
