/**
 * Finding 11, the contact-request flood of the resource-bound suite: one raw MQTT connection on
 * Mosquitto publishes thousands of correctly signed and sealed contact requests, each from a fresh
 * identity, to a real `parley peer`. The peer must keep its pending rows and user-facing events
 * bounded, count every refusal in `stats`, stay under a stated memory cap, and still let a real
 * contact's request through; the user can block and clear all.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { sealTo } from '../../../src/shared/box';
import { canonicalJson, utf8 } from '../../../src/shared/encoding';
import { encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, HeadlessPeer, tempProfile } from '../../helpers/headless-peer';

const FLOOD = Number(process.env.PARLEY_CONTACT_FLOOD ?? 3000);
const MAX_PENDING = 100;
/** Stated cap: the victim's resident memory may grow by at most this much during the flood. */
const RSS_GROWTH_CAP_MIB = 96;

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
}

function request(victim: string, from: Identity, name: string): string {
  const sealed = sealTo(victim, utf8(canonicalJson({ name, deviceId: randomId() })), from);
  return encodeEnvelope(signEnvelope({ type: 'contactRequest', to: victim, body: { sealed } }, from, nodeSigner));
}

describe('contact-request flood from fresh identities', () => {
  const peers: HeadlessPeer[] = [];
  let raw: MqttClient | undefined;
  afterAll(async () => {
    await raw?.endAsync();
    await Promise.all(peers.map((p) => p.quit()));
  });

  it(`${FLOOD} requests: ≤ ${MAX_PENDING} rows and events, all refusals counted, RSS growth < ${RSS_GROWTH_CAP_MIB} MiB, a real contact still gets through`, async () => {
    // The real contact's identity exists before it ever reaches the broker, so the victim can add it.
    const contactProfile = tempProfile('flood-contact');
    const offline = await HeadlessPeer.start({ profile: contactProfile, broker: 'mqtt://127.0.0.1:9' });
    const contactId = offline.userId;
    await offline.quit();

    const victim = await HeadlessPeer.start({ profile: tempProfile('flood-victim'), name: 'victim', broker: MOSQUITTO_URL });
    peers.push(victim);
    await victim.signalingUp();
    await victim.ok({ op: 'contact.add', userId: contactId, name: 'real contact' });
    const linesBefore = victim.lines.length;
    const rssBefore = rssMiB(victim.pid!);
    let rssPeak = rssBefore;

    const identities = Array.from({ length: FLOOD }, () => generateIdentity());
    raw = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `flood-${process.pid}-${Date.now()}` });
    const topic = `user/${victim.userId}/contactRequest`;
    let contact: HeadlessPeer | undefined;
    for (let i = 0; i < FLOOD; i += 100) {
      await Promise.all(identities.slice(i, i + 100).map((id, j) => raw!.publishAsync(topic, request(victim.userId, id, `spam ${i + j}`), { qos: 1 })));
      rssPeak = Math.max(rssPeak, rssMiB(victim.pid!));
      if (i === 1000) {
        // Mid-flood, the real contact comes online and asks back.
        contact = await HeadlessPeer.start({ profile: contactProfile, name: 'real contact', broker: MOSQUITTO_URL });
        peers.push(contact);
        await contact.signalingUp();
        await contact.ok({ op: 'contact.add', userId: victim.userId, name: 'victim' });
      }
    }

    const counted = (s: Record<string, number>): number =>
      (s['contactRequest:RATE_LIMITED'] ?? 0) + (s['contactRequest:FULL'] ?? 0) + (s['contactRequest:DUPLICATE'] ?? 0);
    const contacts = async () => (await victim.ok({ op: 'contacts' })).contacts as { userId: string; state: string }[];
    // Every request is either a pending row or a counted refusal.
    const stats = await eventually(async () => {
      rssPeak = Math.max(rssPeak, rssMiB(victim.pid!));
      return (await victim.ok({ op: 'stats' })).rejected as Record<string, number>;
    }, (s) => counted(s) + MAX_PENDING >= FLOOD, 180_000, 500);
    const rows = (await contacts()).filter((c) => c.state === 'incoming');
    expect(rows.length + counted(stats)).toBe(FLOOD);
    expect(rows.length).toBeLessThanOrEqual(MAX_PENDING);
    expect(stats['contactRequest:RATE_LIMITED']).toBeGreaterThan(0);

    const events = victim.lines.slice(linesBefore).filter((l) => l.event !== undefined);
    const requestEvents = events.filter((l) => l.event === 'contactRequest');
    expect(requestEvents.length).toBe(rows.length);
    const notices = events.filter((l) => l.event === 'error' && l.code === 'CONTACT_REQUESTS_LIMITED');
    expect(notices.length).toBeGreaterThanOrEqual(1);
    expect(notices.length).toBeLessThanOrEqual(4);

    // The real contact was never limited: the victim had added it, so its request made them contacts.
    await victim.waitFor((l) => l.event === 'contactAccepted' && l.userId === contactId, 60_000);
    expect((await contacts()).find((c) => c.userId === contactId)?.state).toBe('accepted');

    rssPeak = Math.max(rssPeak, rssMiB(victim.pid!));
    console.log(`contact flood: ${FLOOD} requests, ${rows.length} pending rows, ${counted(stats)} refused (${JSON.stringify(stats)}), ${events.length} events, rss ${rssBefore.toFixed(0)} → peak ${rssPeak.toFixed(0)} MiB`);
    expect(rssPeak - rssBefore).toBeLessThan(RSS_GROWTH_CAP_MIB);

    // Block one pending sender: its row goes, and its next request is dropped and counted.
    const blocked = rows[0]!.userId;
    await victim.ok({ op: 'contact.block', userId: blocked });
    expect((await contacts()).some((c) => c.userId === blocked)).toBe(false);
    const again = identities.find((id) => id.userId === blocked)!;
    await raw.publishAsync(topic, request(victim.userId, again, 'spam again'), { qos: 1 });
    await eventually(async () => (await victim.ok({ op: 'stats' })).rejected as Record<string, number>, (s) => (s['contactRequest:BLOCKED'] ?? 0) === 1, 30_000);

    // Clear all: every pending request goes, the real contact stays.
    const cleared = await victim.ok({ op: 'contacts.clearRequests' });
    expect(cleared.cleared).toBe(rows.length - 1);
    expect((await contacts()).map((c) => c.userId)).toEqual([contactId]);
  }, 400_000);
});
