import { USER_ID_RE, type Settings } from '../../shared/api';

/** Checks a pasted userId and says how to fix it if it is wrong. */
export function validateUserIdInput(raw: string, ownId: string | undefined): { ok: true; userId: string } | { ok: false; message: string } {
  const userId = raw.trim().toLowerCase();
  if (!userId) return { ok: false, message: 'Paste the userId your contact copied from their Parley window.' };
  if (!USER_ID_RE.test(userId)) {
    return { ok: false, message: `A userId is exactly 64 characters 0-9 and a-f (this has ${userId.length}). Ask your contact to press “Copy” next to their userId and paste it again.` };
  }
  if (userId === ownId) return { ok: false, message: 'That is your own userId. Paste the userId of the person you want to add.' };
  return { ok: true, userId };
}

/** Checks the settings form and says how to fix each field. */
export function checkSettings(name: string, brokerUrl: string, iceText: string): { ok: true; patch: Partial<Settings> } | { ok: false; message: string } {
  const displayName = name.trim();
  if (!displayName || displayName.length > 64) return { ok: false, message: 'Display name: 1 to 64 characters.' };
  let broker: URL;
  try {
    broker = new URL(brokerUrl.trim());
  } catch {
    return { ok: false, message: 'Broker URL is not a URL. Example: mqtt://127.0.0.1:1883 or wss://broker.example.org/mqtt' };
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(broker.protocol)) {
    return { ok: false, message: `Broker URL must start with mqtt://, mqtts://, ws:// or wss:// (not ${broker.protocol}//).` };
  }
  const iceServers = iceText.split('\n').map((l) => l.trim()).filter(Boolean);
  const badIce = iceServers.find((u) => !/^(stun|stuns|turn|turns):/.test(u));
  if (badIce) return { ok: false, message: `ICE server "${badIce.slice(0, 60)}" must start with stun:, stuns:, turn: or turns:. One per line.` };
  if (iceServers.length > 16) return { ok: false, message: 'At most 16 ICE servers.' };
  return { ok: true, patch: { displayName, brokerUrl: brokerUrl.trim(), iceServers } };
}
