import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('test workers keep wrtc connections referenced (test/setup/wrtc-keep-alive.ts)', () => {
  it("wrtc's RTCPeerConnection is the kept class before any test file imports it", () => {
    const wrtc = require('@roamhq/wrtc') as { RTCPeerConnection: { keptAlive?: boolean } & (new () => RTCPeerConnection) };
    expect(wrtc.RTCPeerConnection.keptAlive).toBe(true);
    const pc = new wrtc.RTCPeerConnection();
    pc.close();
    expect(pc.signalingState).toBe('closed');
  });
});
