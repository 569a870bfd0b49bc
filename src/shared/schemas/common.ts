import { z } from 'zod';
import { describeIssues } from '../envelope';
import { reject, type Result } from '../errors';
import { isId } from '../ids';
import { USER_ID_RE } from '../identity';

export const zUserIdString = z.string().regex(USER_ID_RE, 'must be a userId (64 lowercase hex characters)');
export const zIdString = z.string().refine(isId, 'must be an id (32 lowercase hex characters)');
export const zTimestampMs = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const zDisplayName = z.string().trim().min(1).max(64);
export const zDeviceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a deviceId (1-64 of A-Z a-z 0-9 _ -)');

// With the length a multiple of 4 this is exactly padded standard base64, in one linear scan (the
// grouped form cost 12 ns a character: a second per 64 MiB of file chunks in web mode).
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
/** Padded standard base64 of at most maxChars characters (length checked before the regex runs). */
export function zBase64(maxChars: number) {
  return z.string().max(maxChars).refine((s) => s.length % 4 === 0 && BASE64_RE.test(s), 'must be base64');
}

/** Any `scheme://…` address of a signaling endpoint (ws, wss, mqtt, mqtts, …). */
export const zSignalAddr = z
  .string()
  .max(512)
  .regex(/^[a-z][a-z0-9+.-]{0,15}:\/\/[^\s]+$/, 'must be a URL such as wss://host/deviceId');

export type KeyedSchemas = Readonly<Record<string, z.ZodType>>;

/** A body validated against the schema registered for its type. */
export type TypedBody<S extends KeyedSchemas> = { [K in keyof S & string]: { type: K; body: z.infer<S[K]> } }[keyof S & string];

/** Looks up the schema for `type` and validates `body`; UNKNOWN_TYPE or SCHEMA with a readable reason. Never throws. */
export function parseKeyed<S extends KeyedSchemas>(schemas: S, family: string, type: unknown, body: unknown): Result<TypedBody<S>> {
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(schemas, type)) {
    const shown = typeof type === 'string' ? JSON.stringify(type).slice(0, 70) : `of JS type ${type === null ? 'null' : typeof type}`;
    return reject('UNKNOWN_TYPE', `unknown ${family} type ${shown}`);
  }
  const schema = schemas[type]!;
  const parsed = schema.safeParse(body);
  if (!parsed.success) return reject('SCHEMA', `${family} ${type}: ${describeIssues(parsed.error)}`);
  return { ok: true, value: { type, body: parsed.data } as TypedBody<S> };
}
