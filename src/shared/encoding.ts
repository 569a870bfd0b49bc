/** Byte/text encodings and the canonical JSON form that signatures cover. Runs in Node and browsers. */

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
// With the length a multiple of 4 this is exactly padded standard base64, and it scans in linear
// time without backtracking groups (the grouped form took 12 ns a character in Chromium).
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_DIGITS[bytes[i]!];
  return out;
}

/** Throws on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new Error('invalid hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const CHUNK = 0x8000;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return btoa(binary);
}

/**
 * Strict, canonical base64 (padded, standard alphabet). Throws on anything else, including
 * encodings whose unused trailing bits are set: two different strings never decode to the same bytes.
 */
export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) throw new Error('invalid base64 string');
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  if (!hasCanonicalTail(text, out)) throw new Error('non-canonical base64 string');
  return out;
}

/** fromBase64 that returns null instead of throwing. */
export function tryFromBase64(text: string): Uint8Array | null {
  try {
    return fromBase64(text);
  } catch {
    return null;
  }
}

function hasCanonicalTail(text: string, bytes: Uint8Array): boolean {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (padding === 0) return true;
  const tailStart = bytes.length - (padding === 2 ? 1 : 2);
  return toBase64(bytes.subarray(tailStart)) === text.slice(text.length - 4);
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Throws on invalid UTF-8 (no silent U+FFFD replacement). */
export function fromUtf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/** UTF-8 byte length without allocating. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Deterministic JSON: object keys sorted (UTF-16 code unit order), no whitespace.
 * Accepts only JSON values: plain objects, arrays, strings, finite numbers, booleans, null.
 * Throws on undefined, functions, symbols, bigints, non-finite numbers and non-plain objects.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

function write(value: unknown, stack: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new Error(`canonicalJson: unsupported value of type ${typeof value}`);
  }
  const obj = value as object;
  if (stack.has(obj)) throw new Error('canonicalJson: cyclic value');
  stack.add(obj);
  try {
    if (Array.isArray(obj)) {
      const parts: string[] = [];
      for (let i = 0; i < obj.length; i++) parts.push(write(obj[i], stack));
      return `[${parts.join(',')}]`;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) throw new Error('canonicalJson: not a plain object');
    const record = obj as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    const parts: string[] = [];
    for (const key of keys) parts.push(`${JSON.stringify(key)}:${write(record[key], stack)}`);
    return `{${parts.join(',')}}`;
  } finally {
    stack.delete(obj);
  }
}
