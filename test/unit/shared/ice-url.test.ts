import { describe, expect, it } from 'vitest';
import { iceServerFromUrl } from '../../../src/shared/ice-url';

describe('iceServerFromUrl', () => {
  it('passes STUN and plain TURN URLs through', () => {
    expect(iceServerFromUrl('stun:198.18.0.1:3478')).toEqual({ urls: 'stun:198.18.0.1:3478' });
    expect(iceServerFromUrl('turn:turn.example.org:3478?transport=tcp')).toEqual({ urls: 'turn:turn.example.org:3478?transport=tcp' });
  });
  it('moves credentials out of the URL', () => {
    expect(iceServerFromUrl('turn:natlab:natlabpass@198.18.0.1:3478?transport=udp')).toEqual({
      urls: 'turn:198.18.0.1:3478?transport=udp', username: 'natlab', credential: 'natlabpass',
    });
    expect(iceServerFromUrl('turns:1796000000%3Aab12:c%2Fr%40d=@t.example.org:5349')).toEqual({
      urls: 'turns:t.example.org:5349', username: '1796000000:ab12', credential: 'c/r@d=',
    });
  });
  it('leaves a STUN URL with an @ alone (STUN has no credentials)', () => {
    expect(iceServerFromUrl('stun:a:b@host')).toEqual({ urls: 'stun:a:b@host' });
  });
});

describe('settings accept the credential form', () => {
  it('turn:USER:PASS@HOST:PORT passes, stun with credentials and junk after @ do not', async () => {
    const { iceUrlProblem } = await import('../../../src/shared/settings-urls');
    expect(iceUrlProblem('turn:natlab:natlabpass@198.18.0.1:3478?transport=udp')).toBeNull();
    expect(iceUrlProblem('stun:a:b@198.18.0.1:3478')).not.toBeNull();
    expect(iceUrlProblem('turn:a:b@javascript:alert(1)')).not.toBeNull();
  });
});
