/**
 * The Block and Clear all buttons of the requests list, in a real `parley web` page: strangers'
 * contact requests arrive over Mosquitto (signed and sealed by fresh identities), the user blocks
 * one and clears the rest, only through the UI.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../src/main/crypto/node-signer';
import { sealTo } from '../../src/shared/box';
import { canonicalJson, utf8 } from '../../src/shared/encoding';
import { encodeEnvelope, signEnvelope } from '../../src/shared/envelope';
import { generateIdentity } from '../../src/shared/identity';
import { randomId } from '../../src/shared/ids';
import { screenshot, tempProfile, webSuite } from './support';

const BROKER = process.env.PARLEY_TEST_BROKER ?? 'mqtt://127.0.0.1:1883';
const WAIT = { timeout: 60_000 };
const suite = webSuite();

describe('contact requests in web mode', () => {
  it('blocks one stranger and clears the others with the buttons', { timeout: 240_000 }, async () => {
    const web = await suite.start({ profile: tempProfile('requests'), broker: BROKER, name: 'Vic' });
    const page = await suite.openApp(web);
    await expect.poll(() => page.getByTestId('signaling-state').getAttribute('data-state'), WAIT).toBe('connected');

    const strangers = [generateIdentity(), generateIdentity(), generateIdentity()];
    const raw = await mqtt.connectAsync(BROKER, { clientId: `requests-e2e-${process.pid}-${Date.now()}` });
    const send = async (i: number): Promise<void> => {
      const from = strangers[i]!;
      const sealed = sealTo(web.userId, utf8(canonicalJson({ name: `Stranger ${i}`, deviceId: randomId() })), from);
      await raw.publishAsync(`user/${web.userId}/contactRequest`, encodeEnvelope(signEnvelope({ type: 'contactRequest', to: web.userId, body: { sealed } }, from, nodeSigner)), { qos: 1 });
    };
    try {
      // Until the page's host is subscribed, a request may be lost: repeat, as real senders do.
      await expect.poll(async () => {
        for (let i = 0; i < strangers.length; i++) await send(i);
        return page.locator('[data-testid^="request-"]').count();
      }, WAIT).toBe(3);
      await page.getByTestId(`block-${strangers[0]!.userId}`).click();
      await expect.poll(() => page.locator('[data-testid^="request-"]').count(), WAIT).toBe(2);
      await page.getByTestId('clear-requests').click();
      await expect.poll(() => page.locator('[data-testid^="request-"]').count(), WAIT).toBe(0);
      await expect.poll(() => page.getByText('2 contact requests cleared.').count(), WAIT).toBe(1);
      await screenshot(page, 'web-requests-cleared');
      // The blocked stranger asks again: nothing shows up.
      await send(0);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await page.locator('[data-testid^="request-"]').count()).toBe(0);
    } finally {
      await raw.endAsync();
    }
  });
});
