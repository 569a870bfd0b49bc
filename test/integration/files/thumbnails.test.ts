/**
 * Image thumbnails in the offer (issue 9: "images show a thumbnail"), between real headless peers:
 * a small image is its own thumbnail and the recipient sees it with the offer, before accepting,
 * and again after a restart (it is stored with the transfer); a large image or a file that only
 * claims to be an image by its name carries none.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { befriend } from '../../helpers/headless-peer';
import { fileEvent, makePng, settled } from './support';
import { filePeers } from './peers';

describe('image thumbnails in file offers (real WebRTC)', () => {
  const { start, work } = filePeers('thumbs');


  it('a small image travels as its own thumbnail, shown with the offer and kept after a restart; large or fake images carry none', async () => {
    const alice = await start('alice');
    const bob = await start('bob');
    await befriend(alice, bob);

    const png = makePng(40, 30);
    expect(png.length).toBeLessThan(16 * 1024);
    const small = join(work, 'small.png');
    writeFileSync(small, png);
    const expected = `data:image/png;base64,${png.toString('base64')}`;
    const { id } = await alice.ok({ op: 'file.send', to: bob.userId, path: small }, 60_000);
    const offered = await fileEvent(bob, String(id), 'offered');
    expect(offered).toMatchObject({ name: 'small.png', mime: 'image/png', thumb: expected });
    expect((await fileEvent(alice, String(id), 'offered')).thumb).toBe(expected);
    const listed = (await bob.ok({ op: 'files' })).files as { id: string; thumb?: string }[];
    expect(listed.find((f) => f.id === id)?.thumb).toBe(expected);

    // Progress events leave it out (they are frequent); done carries it again.
    await bob.ok({ op: 'file.accept', id });
    const done = await settled(bob, String(id));
    expect(done).toMatchObject({ state: 'done', thumb: expected });
    expect(bob.lines.filter((l) => l.event === 'file' && l.state === 'progress').every((l) => l.thumb === undefined)).toBe(true);

    // Stored with the transfer: a restarted peer still lists it.
    const profile = bob.opts.profile;
    await bob.quit();
    const bob2 = await start('bob', profile);
    const relisted = (await bob2.ok({ op: 'files' })).files as { id: string; thumb?: string }[];
    expect(relisted.find((f) => f.id === id)?.thumb).toBe(expected);
    await bob2.waitFor((l) => l.event === 'connection' && l.userId === alice.userId && l.state === 'CONNECTED', 90_000);

    // Over the cap: the headless sender has no way to scale it down, so no thumbnail.
    const large = join(work, 'large.png');
    writeFileSync(large, makePng(120, 90));
    const fake = join(work, 'fake.png');
    writeFileSync(fake, '<html><script>alert(1)</script></html>');
    const svg = join(work, 'drawing.svg');
    writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    for (const path of [large, fake, svg]) {
      const sent = await alice.ok({ op: 'file.send', to: bob2.userId, path }, 60_000);
      const o = await fileEvent(bob2, String(sent.id), 'offered');
      expect(o.thumb, path).toBeUndefined();
    }
  }, 300_000);
});
