/**
 * Issue 10, finding 9, from the squatter's side: a program that binds the embedded broker's MQTT
 * port first, and answers like a broker (CONNACK "accepted" to anything), must learn nothing. A
 * real `parley peer` with no broker configured finds it there: the squatter receives no CONNECT,
 * no clientId and no login password, and the user is told in words what to do. (The case of a
 * squatter on both ports is in test/integration/server/embedded-takeover.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HeadlessPeer, tempProfile } from '../../helpers/headless-peer';
import { embeddedEnv } from '../../helpers/embedded-env';

const servers: Server[] = [];
const dirs: string[] = [];


afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a squatter on the embedded MQTT port', () => {
  it('gets no CONNECT, clientId or password, and the user sees the refusal in words', async () => {
    const received: Buffer[] = [];
    const squatter = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // "CONNACK, accepted"
      });
    });
    servers.push(squatter);
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const mqttPort = (squatter.address() as AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-squat-'));
    const mailboxDir = mkdtempSync(join(tmpdir(), 'parley-squat-mailbox-'));
    dirs.push(dataDir, mailboxDir);
    const env = {
      ...(await embeddedEnv(4000)),
      PARLEY_EMBEDDED_MQTT_PORT: String(mqttPort),
      PARLEY_EMBEDDED_DATA_DIR: dataDir,
      PARLEY_EMBEDDED_MAILBOX_DIR: mailboxDir,
    };
    const profile = tempProfile('squat-victim');
    dirs.push(profile);
    const refusal = await HeadlessPeer.start({ profile, name: 'victim', env }).then(
      async (peer) => {
        await peer.kill();
        return null;
      },
      (error: Error) => error.message,
    );
    // In words, naming the port and what to do next.
    expect(refusal).toMatch(new RegExp(`port ${mqttPort}`));
    expect(refusal).toMatch(/not this user's Parley server/);
    expect(refusal).toMatch(/Settings/);

    const bytes = Buffer.concat(received);
    expect(bytes.length === 0 || bytes[0]! >> 4 !== 1).toBe(true); // no MQTT CONNECT
    expect(bytes.includes(Buffer.from('parley-'))).toBe(false); // no Parley clientId
    expect(bytes.includes(Buffer.from('"sig"'))).toBe(false); // no login password
  }, 90_000);
});
