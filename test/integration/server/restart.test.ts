/**
 * A broker that survives restarts: a contact request waiting for an offline user is still there
 * after `parley server` is killed with SIGKILL and started again on the same --data folder, and it
 * is delivered exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HeadlessPeer, eventually, tempProfile } from '../../helpers/headless-peer';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';

const servers: ServerProcess[] = [];
const peers: HeadlessPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.quit()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function metric(adminUrl: string, name: string): Promise<number> {
  const text = await fetch(`${adminUrl}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function kill9(server: ServerProcess): Promise<void> {
  server.child.kill('SIGKILL');
  await server.exited;
}

describe('parley server --data: sessions survive kill -9', () => {
  it('a contact request sent to an offline user is delivered once after a kill -9 and restart', async () => {
    const data = mkdtempSync(join(tmpdir(), 'parley-restart-'));
    const first = await startServerProcess(['--data', data, '--admin', '0', '--log-level', 'warn']);
    servers.push(first);
    const ports = ['--mqtt', new URL(String(first.ready.mqtt)).port, '--mqtt-ws', new URL(String(first.ready.mqttWs)).port];
    const broker = String(first.ready.mqtt);

    // B has been online once, so the broker holds its persistent session, then goes away.
    const profileB = tempProfile('restart-b');
    const bOnce = await HeadlessPeer.start({ profile: profileB, name: 'b', broker });
    await bOnce.signalingUp();
    const bId = bOnce.userId;
    await bOnce.quit();

    const profileA = tempProfile('restart-a');
    const aOnce = await HeadlessPeer.start({ profile: profileA, name: 'a', broker });
    await aOnce.signalingUp();
    const aId = aOnce.userId;
    await aOnce.ok({ op: 'contact.add', userId: bId, name: 'b' });
    // The request is stored for B (the broker counts it as a pending delivery) before the kill;
    // A goes offline too, so only the broker's disk can carry the request across the restart.
    await eventually(() => metric(String(first.ready.admin), 'parley_broker_pending_deliveries'), (n) => n >= 1, 30_000);
    await aOnce.quit();

    await kill9(first);
    servers.splice(servers.indexOf(first), 1);
    const second = await startServerProcess(['--data', data, ...ports, '--log-level', 'warn']);
    servers.push(second);
    expect(second.ready.mqtt).toBe(broker);

    const b = await HeadlessPeer.start({ profile: profileB, name: 'b', broker });
    peers.push(b);
    const request = await b.waitFor((l) => l.event === 'contactRequest' && l.userId === aId, 60_000);
    expect(request).toMatchObject({ userId: aId });
    await b.ok({ op: 'contact.accept', userId: aId });
    const a = await HeadlessPeer.start({ profile: profileA, name: 'a', broker });
    peers.push(a);
    await a.waitFor((l) => l.event === 'contactAccepted' && l.userId === bId, 60_000);
    expect(b.lines.filter((l) => l.event === 'contactRequest')).toHaveLength(1);

    // Once delivered and acknowledged it is gone from the queue: another kill -9, restart and
    // reconnect of B brings no second copy.
    await b.quit();
    peers.splice(peers.indexOf(b), 1);
    await kill9(second);
    servers.splice(servers.indexOf(second), 1);
    const third = await startServerProcess(['--data', data, ...ports, '--admin', '0', '--log-level', 'warn']);
    servers.push(third);
    const bAgain = await HeadlessPeer.start({ profile: profileB, name: 'b', broker });
    peers.push(bAgain);
    await bAgain.signalingUp(60_000);
    // Give a stray redelivery time to arrive, then check none did.
    await new Promise((r) => setTimeout(r, 3000));
    expect(bAgain.lines.filter((l) => l.event === 'contactRequest')).toHaveLength(0);
    const contacts = (await bAgain.ok({ op: 'contacts' })).contacts as { userId: string; state: string }[];
    expect(contacts).toEqual([expect.objectContaining({ userId: aId, state: 'accepted' })]);
  }, 240_000);
});
