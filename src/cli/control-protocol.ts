/**
 * The headless control protocol (DESIGN section 10): one JSON object per line on stdin, replies
 * and events one per line on stdout. This module only parses and validates lines; peer.ts runs them.
 */
import { z } from 'zod';
import { zUserId } from '../shared/api';

export const MAX_CONTROL_LINE_BYTES = 256 * 1024;

const zReqId = z.union([z.string().max(128), z.number().finite()]).optional();
const base = { reqId: zReqId };
const zFileId = z.string().regex(/^[0-9a-f]{32}$/, 'id must be a file id (32 hex characters)');

export const controlOp = z.discriminatedUnion('op', [
  z.object({ op: z.literal('whoami'), ...base }).strict(),
  z.object({ op: z.literal('contact.add'), userId: zUserId, name: z.string().trim().min(1).max(64).optional(), ...base }).strict(),
  z.object({ op: z.literal('contact.accept'), userId: zUserId, ...base }).strict(),
  z.object({ op: z.literal('contact.decline'), userId: zUserId, ...base }).strict(),
  z.object({ op: z.literal('contact.block'), userId: zUserId, ...base }).strict(),
  z.object({ op: z.literal('contacts'), ...base }).strict(),
  z.object({ op: z.literal('contacts.clearRequests'), ...base }).strict(),
  z.object({ op: z.literal('send'), to: zUserId, text: z.string().min(1).max(16_000), ...base }).strict(),
  z.object({ op: z.literal('file.send'), to: zUserId, path: z.string().min(1).max(4096), ...base }).strict(),
  z.object({ op: z.literal('file.accept'), id: zFileId, ...base }).strict(),
  z.object({ op: z.literal('file.decline'), id: zFileId, ...base }).strict(),
  z.object({ op: z.literal('file.cancel'), id: zFileId, ...base }).strict(),
  z.object({ op: z.literal('files'), with: zUserId.optional(), ...base }).strict(),
  z.object({ op: z.literal('messages'), with: zUserId, limit: z.number().int().min(1).max(10_000).optional(), ...base }).strict(),
  z.object({ op: z.literal('peers'), ...base }).strict(),
  z.object({ op: z.literal('chat.open'), userId: zUserId, open: z.boolean(), ...base }).strict(),
  z.object({ op: z.literal('retry'), userId: zUserId, ...base }).strict(),
  z.object({ op: z.literal('route'), userId: zUserId, ...base }).strict(),
  z.object({ op: z.literal('network'), ...base }).strict(),
  z.object({ op: z.literal('stats'), ...base }).strict(),
  z.object({ op: z.literal('quit'), ...base }).strict(),
]);

export type ControlOp = z.infer<typeof controlOp>;
export type ControlErrorCode = 'BAD_JSON' | 'OVERSIZE' | 'UNKNOWN_OP' | 'BAD_ARGS' | 'NOT_IMPLEMENTED' | 'FAILED';
export const CONTROL_OPS = controlOp.options.map((o) => o.shape.op.value);

export type ParsedLine =
  | { ok: true; op: ControlOp }
  | { ok: false; reqId?: string | number; code: ControlErrorCode; message: string };

export function parseControlLine(line: string): ParsedLine {
  if (Buffer.byteLength(line, 'utf8') > MAX_CONTROL_LINE_BYTES) {
    return { ok: false, code: 'OVERSIZE', message: `line is over ${MAX_CONTROL_LINE_BYTES} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, code: 'BAD_JSON', message: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'BAD_JSON', message: 'each line must be a JSON object like {"op":"whoami"}' };
  }
  const obj = value as Record<string, unknown>;
  const reqId = typeof obj.reqId === 'string' || typeof obj.reqId === 'number' ? obj.reqId : undefined;
  if (typeof obj.op !== 'string' || !(CONTROL_OPS as string[]).includes(obj.op)) {
    return { ok: false, reqId, code: 'UNKNOWN_OP', message: `unknown op ${JSON.stringify(obj.op)}; known ops: ${CONTROL_OPS.join(', ')}` };
  }
  const parsed = controlOp.safeParse(value);
  if (!parsed.success) {
    return { ok: false, reqId, code: 'BAD_ARGS', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ') };
  }
  return { ok: true, op: parsed.data };
}
