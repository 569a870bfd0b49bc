/**
 * Which URLs Parley connects to from settings: the signaling broker and ICE servers. Anything
 * else (javascript:, file:, http:) is refused with a reason, both when the user saves it and when
 * a stored value is loaded.
 */
export const BROKER_SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:'] as const;
export const ICE_SCHEMES = ['stun:', 'stuns:', 'turn:', 'turns:'] as const;
export const MAX_SETTING_URL_CHARS = 512;

/** Null when the broker URL is usable, else what is wrong and what to write instead. */
export function brokerUrlProblem(value: string): string | null {
  if (value.length > MAX_SETTING_URL_CHARS) return `Broker URL is longer than ${MAX_SETTING_URL_CHARS} characters.`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Broker URL is not a URL. Example: mqtt://127.0.0.1:1883 or wss://broker.example.org/mqtt';
  }
  if (!(BROKER_SCHEMES as readonly string[]).includes(url.protocol)) {
    return `Broker URL must start with mqtt://, mqtts://, ws:// or wss:// (not ${url.protocol.slice(0, 20)}//).`;
  }
  if (!url.hostname) return 'Broker URL needs a host name, e.g. mqtt://127.0.0.1:1883.';
  return null;
}

/** Null when the ICE server URL is usable (stun:, stuns:, turn:, turns: with a host), else why not. */
export function iceUrlProblem(value: string): string | null {
  const shown = JSON.stringify(value.slice(0, 60));
  if (value.length > MAX_SETTING_URL_CHARS) return `ICE server ${shown}… is longer than ${MAX_SETTING_URL_CHARS} characters.`;
  const scheme = ICE_SCHEMES.find((s) => value.startsWith(s));
  if (!scheme) return `ICE server ${shown} must start with stun:, stuns:, turn: or turns:.`;
  // TURN may carry its long-term credentials as USER:PASS@ (see ice-url.ts); the rest is checked alike.
  const afterScheme = value.slice(scheme.length).replace(/^\/\//, '');
  const rest = scheme.startsWith('turn') ? afterScheme.replace(/^[^:@/]*:[^@/]*@/, '') : afterScheme;
  if (!/^[A-Za-z0-9.\-[\]:]+(\?transport=(udp|tcp))?$/.test(rest) || rest.startsWith(':')) {
    return `ICE server ${shown} must be ${scheme}HOST or ${scheme}HOST:PORT (optionally ?transport=udp|tcp${scheme.startsWith('turn') ? `, credentials as ${scheme}USER:PASS@HOST:PORT` : ''}).`;
  }
  return null;
}
