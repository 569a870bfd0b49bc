/**
 * Embedded defaults that outlive their host: the first instance with no broker configured starts
 * `parley server` in the background; later instances prove it is theirs and attach. Killing the
 * starter with SIGKILL leaves the others signaling; a third instance started afterwards chats with
 * them. Once nobody uses it the server stops itself. Something else on the port is refused.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readEmbeddedInfo } from '../../../src/server/embedded/proof';
import { HeadlessPeer, befriend, eventually, tempProfile } from '../../helpers/headless-peer';
import { embeddedEnv } from '../../helpers/embedded-env';


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


const peers: HeadlessPeer[] = [];
const pids: number[] = [];
const squatters: Server[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.quit()));
  for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const s of squatters.splice(0)) s.close();
});

describe('embedded background server', () => {
  it('survives kill -9 of the instance that started it; a third instance chats with the survivor; it stops when unused', async () => {
    const env = await embeddedEnv(4000);
    const start = async (name: string): Promise<HeadlessPeer> => {
      const p = await HeadlessPeer.start({ profile: tempProfile(`emb-${name}`), name, env });
      peers.push(p);
      return p;
    };
    const starter = await start('starter');
    const info = readEmbeddedInfo(env.PARLEY_EMBEDDED_DATA_DIR);
    expect(info).not.toBeNull();
    pids.push(info!.pid);
    expect(info!.pid).not.toBe(starter.pid);
    expect(info!.mqtt).toBe(`mqtt://127.0.0.1:${env.PARLEY_EMBEDDED_MQTT_PORT}`);

    const survivor = await start('survivor');
    await befriend(starter, survivor);

    // The starter dies without a chance to clean up; the server is not inside it.
    const seenBefore = survivor.lines.length;
    await starter.kill('SIGKILL');
    peers.splice(peers.indexOf(starter), 1);
    expect(alive(info!.pid)).toBe(true);

    const third = await start('third');
    expect(readEmbeddedInfo(env.PARLEY_EMBEDDED_DATA_DIR)?.pid).toBe(info!.pid); // attached, no second server
    await befriend(survivor, third);
    const hi = String((await third.ok({ op: 'send', to: survivor.userId, text: 'hi from the third' })).id);
    const back = String((await survivor.ok({ op: 'send', to: third.userId, text: 'hello third' })).id);
    await survivor.waitFor((l) => l.event === 'message' && l.id === hi);
    await third.waitFor((l) => l.event === 'message' && l.id === back);
    await third.waitFor((l) => l.event === 'status' && l.id === hi && l.status === 'delivered');
    await survivor.waitFor((l) => l.event === 'status' && l.id === back && l.status === 'delivered');
    // The survivor's signaling never had to reconnect after the starter died.
    const afterKill = survivor.lines.slice(seenBefore).filter((l) => l.event === 'signaling');
    expect(afterKill.filter((l) => l.state === 'reconnecting' || l.state === 'offline')).toEqual([]);

    // Nobody left: the server stops itself after the idle period.
    await Promise.all(peers.splice(0).map((p) => p.quit()));
    await eventually(async () => alive(info!.pid), (a) => !a, 60_000);
  }, 240_000);

  it('refuses to attach to something else squatting on the embedded port', async () => {
    const env = await embeddedEnv(4000);
    // A squatter that accepts connections and answers nothing useful, on both ports.
    for (const port of [env.PARLEY_EMBEDDED_MQTT_PORT, env.PARLEY_EMBEDDED_MQTT_WS_PORT]) {
      const s = createServer((socket) => {
        socket.on('error', () => undefined); // the prober may hang up first
        socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"proof":"00"}');
      });
      await new Promise<void>((r) => s.listen(Number(port), '127.0.0.1', () => r()));
      squatters.push(s);
    }
    const error = await HeadlessPeer.start({ profile: tempProfile('emb-squat'), name: 'x', env }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(error).toMatch(/EMBEDDED_SERVER/);
    expect(error).toMatch(/could not prove itself/);
    expect(readEmbeddedInfo(env.PARLEY_EMBEDDED_DATA_DIR)).toBeNull();
  }, 120_000);
});
