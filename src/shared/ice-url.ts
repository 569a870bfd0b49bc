/**
 * ICE servers as one string each (the `--ice` flag, the Settings field): a STUN/TURN URL, and for
 * TURN optionally its long-term credentials in front, `turn:USER:PASS@host:port?transport=udp`
 * (percent-encode ':' or '@' inside them). RFC 7065 TURN URIs have no user part, so the
 * credentials are moved into the RTCIceServer's username/credential.
 */
export interface IceServerConfig {
  urls: string;
  username?: string;
  credential?: string;
}

const WITH_CREDENTIALS = /^(turns?):([^:@/]*):([^@/]*)@(.+)$/;

export function iceServerFromUrl(text: string): IceServerConfig {
  const m = WITH_CREDENTIALS.exec(text.trim());
  if (!m) return { urls: text.trim() };
  const [, scheme, user, pass, rest] = m as unknown as [string, string, string, string, string];
  return { urls: `${scheme}:${rest}`, username: decodeURIComponent(user), credential: decodeURIComponent(pass) };
}
