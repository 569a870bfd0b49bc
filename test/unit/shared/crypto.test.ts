import nacl from 'tweetnacl';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeSigner, nodeSignerName, opensslSigner, sodiumSigner } from '../../../src/main/crypto/node-signer';
import type { Signer } from '../../../src/shared/crypto';
import { jsSharedKey, openFrom, sealTo, useSharedKeyDerivation } from '../../../src/shared/box';
import { nativeSharedKey } from '../../../src/main/crypto/native-box';
import ed2curve from 'ed2curve';
import { hasCanonicalScalar, hasSmallOrder, naclSigner } from '../../../src/shared/crypto';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../../src/shared/encoding';
import {
  boxPublicKeyFromUserId, generateIdentity, identityFromSecretKey, isUserId, newDeviceId, publicKeyFromUserId,
} from '../../../src/shared/identity';

const alice = generateIdentity();
const bob = generateIdentity();
const eve = generateIdentity();

// Every implementation the app can run with: they must accept and refuse exactly the same signatures.
const SIGNERS: Signer[] = [naclSigner, opensslSigner, ...(sodiumSigner ? [sodiumSigner] : [])];

describe('signers', () => {
  it('libsodium (sodium-native) is installed and is what the host uses', () => {
    // An optional dependency: a platform without its prebuilt binary falls back to OpenSSL, but
    // this machine kind has one, so its absence here is a broken install.
    if (process.env.PARLEY_NO_SODIUM === '1') return;
    expect(sodiumSigner).not.toBeNull();
    expect(nodeSignerName).toBe('libsodium');
    expect(nodeSigner).toBe(sodiumSigner);
  });

  it('tweetnacl, OpenSSL and libsodium produce identical signatures and accept each other’s', () => {
    for (let i = 0; i < 20; i++) {
      const id = generateIdentity();
      const msg = nacl.randomBytes(i * 37);
      const sigs = SIGNERS.map((s) => s.sign(msg, id.secretKey));
      for (const sig of sigs) expect(toBase64(sig)).toBe(toBase64(sigs[0]!));
      for (const signer of SIGNERS) for (const sig of sigs) expect(signer.verify(msg, sig, id.publicKey)).toBe(true);
    }
  });

  it('all signers give the same answer for any single-bit change of message, signature or key', () => {
    const msg = utf8('parity across implementations');
    const sig = naclSigner.sign(msg, alice.secretKey);
    fc.assert(fc.property(fc.integer({ min: 0, max: (msg.length + 64 + 32) * 8 - 1 }), (bit) => {
      const [m, g, k] = [msg.slice(), sig.slice(), alice.publicKey.slice()];
      const byte = bit >> 3;
      const flip = 1 << (bit & 7);
      if (byte < m.length) m[byte] = m[byte]! ^ flip;
      else if (byte < m.length + 64) g[byte - m.length] = g[byte - m.length]! ^ flip;
      else k[byte - m.length - 64] = k[byte - m.length - 64]! ^ flip;
      const answers = SIGNERS.map((s) => s.verify(m, g, k));
      expect(new Set(answers).size).toBe(1);
      expect(answers[0]).toBe(false);
    }), { numRuns: 300 });
  });

  it('both reject a flipped message bit, a flipped signature bit and the wrong key', () => {
    const msg = utf8('the quick brown fox');
    const sig = nodeSigner.sign(msg, alice.secretKey);
    for (const signer of SIGNERS) {
      const badMsg = msg.slice();
      badMsg[3] = badMsg[3]! ^ 1;
      const badSig = sig.slice();
      badSig[10] = badSig[10]! ^ 0x40;
      expect(signer.verify(msg, sig, alice.publicKey)).toBe(true);
      expect(signer.verify(badMsg, sig, alice.publicKey)).toBe(false);
      expect(signer.verify(msg, badSig, alice.publicKey)).toBe(false);
      expect(signer.verify(msg, sig, bob.publicKey)).toBe(false);
    }
  });

  it('verify returns false (never throws) for malformed keys and signatures', () => {
    const msg = utf8('x');
    const sig = naclSigner.sign(msg, alice.secretKey);
    for (const signer of SIGNERS) {
      expect(signer.verify(msg, sig.subarray(0, 63), alice.publicKey)).toBe(false);
      expect(signer.verify(msg, sig, alice.publicKey.subarray(0, 31))).toBe(false);
      expect(signer.verify(msg, new Uint8Array(64), new Uint8Array(32))).toBe(false);
      expect(signer.verify(msg, new Uint8Array(64).fill(0xff), new Uint8Array(32).fill(0xff))).toBe(false);
    }
    for (const signer of SIGNERS.slice(1)) expect(() => signer.sign(msg, alice.secretKey.subarray(0, 32))).toThrow();
  });

  it('both refuse small-order public keys, against which any signature would verify', () => {
    const msg = utf8('x'); // a message for which the all-zero forgery happens to verify (depends on H(R,A,M) mod 4)
    const zeroSig = new Uint8Array(64);
    // Without the blocklist, tweetnacl and OpenSSL both accept this all-zero forgery.
    expect(nacl.sign.detached.verify(msg, zeroSig, new Uint8Array(32))).toBe(true);
    const smallOrder: Uint8Array[] = ['00', '01'].map((b) => { const k = new Uint8Array(32); k[0] = parseInt(b, 16); return k; });
    smallOrder.push(fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'));
    smallOrder.push(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
    smallOrder.push(fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85')); // sign bit set
    for (const key of smallOrder) {
      expect(hasSmallOrder(key)).toBe(true);
      // each really is a small-order point: the cofactor-clearing X25519 multiplication yields zero
      const x = ed2curve.convertPublicKey(key);
      if (x) expect(nacl.scalarMult(nacl.randomBytes(32), x)).toEqual(new Uint8Array(32));
      for (const signer of SIGNERS) expect(signer.verify(msg, zeroSig, key)).toBe(false);
    }
    expect(hasSmallOrder(alice.publicKey)).toBe(false);
  });

  it('both refuse the malleated signature (S + L) that tweetnacl alone would accept', () => {
    const msg = utf8('pay 10');
    const sig = naclSigner.sign(msg, alice.secretKey);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    const malleated = sig.slice();
    let t = s + L;
    for (let i = 0; i < 32; i++) { malleated[32 + i] = Number(t & 0xffn); t >>= 8n; }
    expect(nacl.sign.detached.verify(msg, malleated, alice.publicKey)).toBe(true);
    expect(hasCanonicalScalar(sig)).toBe(true);
    expect(hasCanonicalScalar(malleated)).toBe(false);
    for (const signer of SIGNERS) expect(signer.verify(msg, malleated, alice.publicKey)).toBe(false);
  });

  it('libsodium refuses small-order keys and S + L on its own too, so the shared shape checks are belt and braces', async () => {
    if (!sodiumSigner) return;
    const { loadSodium } = await import('../../../src/main/crypto/sodium');
    const raw = loadSodium()!;
    const msg = Buffer.from('x');
    expect(raw.crypto_sign_verify_detached(Buffer.alloc(64), msg, Buffer.alloc(32))).toBe(false);
    const sig = Buffer.from(naclSigner.sign(msg, alice.secretKey));
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    let t = s + L;
    for (let i = 0; i < 32; i++) { sig[32 + i] = Number(t & 0xffn); t >>= 8n; }
    expect(raw.crypto_sign_verify_detached(sig, msg, Buffer.from(alice.publicKey))).toBe(false);
  });
});

describe('identity', () => {
  it('derives a self-certifying userId and round-trips the secret key', () => {
    expect(isUserId(alice.userId)).toBe(true);
    expect(publicKeyFromUserId(alice.userId)).toEqual(alice.publicKey);
    const restored = identityFromSecretKey(alice.secretKey);
    expect(restored.userId).toBe(alice.userId);
    expect(restored.boxPublicKey).toEqual(alice.boxPublicKey);
    expect(identityFromSecretKey(alice.secretKey.subarray(0, 32)).userId).toBe(alice.userId);
    expect(boxPublicKeyFromUserId(alice.userId)).toEqual(alice.boxPublicKey);
  });

  it('refuses inconsistent or malformed keys and ids', () => {
    const mixed = new Uint8Array(64);
    mixed.set(alice.secretKey.subarray(0, 32));
    mixed.set(bob.publicKey, 32);
    expect(() => identityFromSecretKey(mixed)).toThrow(/inconsistent/);
    expect(() => identityFromSecretKey(new Uint8Array(10))).toThrow();
    expect(publicKeyFromUserId(alice.userId.toUpperCase())).toBeNull();
    expect(publicKeyFromUserId('abc')).toBeNull();
    expect(boxPublicKeyFromUserId('zz')).toBeNull();
    expect(newDeviceId()).not.toBe(newDeviceId());
  });
});

describe('box', () => {
  it('seals to the recipient and opens only with the right sender and recipient', () => {
    const plaintext = utf8('v=0 o=- 4611731400430051336 2 IN IP4 127.0.0.1 …');
    const sealed = sealTo(bob.userId, plaintext, alice);
    expect(openFrom(alice.userId, sealed, bob)).toEqual(plaintext);
    expect(openFrom(eve.userId, sealed, bob)).toBeNull();
    expect(openFrom(alice.userId, sealed, eve)).toBeNull();
    // fresh nonce every time
    expect(sealTo(bob.userId, plaintext, alice)).not.toBe(sealed);
    expect(openFrom(alice.userId, sealTo(bob.userId, new Uint8Array(0), alice), bob)).toEqual(new Uint8Array(0));
  });

  it('rejects every single-byte tamper of the sealed bytes', () => {
    const sealed = sealTo(bob.userId, utf8('attack at dawn'), alice);
    const bytes = fromBase64(sealed);
    for (let i = 0; i < bytes.length; i++) {
      const mutated = bytes.slice();
      mutated[i] = mutated[i]! ^ 0x01;
      expect(openFrom(alice.userId, toBase64(mutated), bob)).toBeNull();
    }
  });

  it('returns null for garbage instead of throwing', () => {
    for (const junk of ['', 'AAAA', '!!!!', 'x'.repeat(100), toBase64(new Uint8Array(39)), 42 as unknown as string]) {
      expect(openFrom(alice.userId, junk, bob)).toBeNull();
    }
    expect(openFrom('not-a-user', sealTo(bob.userId, utf8('x'), alice), bob)).toBeNull();
    expect(() => sealTo('not-a-user', utf8('x'), alice)).toThrow();
  });
});

describe('box shared keys: pure JS and libsodium', () => {
  it('libsodium derives the same key as tweetnacl for real contacts, and the host path is installed here', () => {
    if (process.env.PARLEY_NO_SODIUM !== '1') expect(nativeSharedKey).not.toBeNull();
    if (!nativeSharedKey) return;
    for (let i = 0; i < 30; i++) {
      const peer = generateIdentity();
      expect(toBase64(nativeSharedKey(peer.userId, alice)!)).toBe(toBase64(jsSharedKey(peer.userId, alice)!));
    }
  });

  it('for any 32 bytes as a userId (off-curve, small-order, malformed) both give the same key or both null', () => {
    if (!nativeSharedKey) return;
    const special = ['00', '01', 'ec', 'ed', 'ee'].map((b) => b + '00'.repeat(31))
      .concat(['26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'not-a-user', '']);
    const same = (userId: string) => {
      const js = jsSharedKey(userId, bob);
      const native = nativeSharedKey!(userId, bob);
      expect(native === null ? null : toBase64(native)).toBe(js === null ? null : toBase64(js));
    };
    special.forEach(same);
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => same(toHex(bytes))), { numRuns: 200 });
  });

  it('a box sealed with one derivation opens with the other, and tampering still fails', () => {
    if (!nativeSharedKey) return;
    const plaintext = utf8('interop');
    try {
      useSharedKeyDerivation(nativeSharedKey);
      const sealedNative = sealTo(bob.userId, plaintext, alice);
      useSharedKeyDerivation(null);
      expect(openFrom(alice.userId, sealedNative, bob)).toEqual(plaintext);
      const sealedJs = sealTo(bob.userId, plaintext, alice);
      useSharedKeyDerivation(nativeSharedKey);
      expect(openFrom(alice.userId, sealedJs, bob)).toEqual(plaintext);
      expect(openFrom(eve.userId, sealedJs, bob)).toBeNull();
    } finally {
      useSharedKeyDerivation(null);
    }
  });
});
