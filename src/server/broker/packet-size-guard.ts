import type { Duplex } from 'node:stream';

/**
 * Watches an MQTT byte stream and reports the first packet whose declared length exceeds maxBytes,
 * as soon as its fixed header arrives. aedes (mqtt-packet) would otherwise buffer a whole 10 MB
 * PUBLISH in memory before authorizePublish gets to refuse it. Only reads the headers: the data
 * itself still flows to aedes untouched (this is a second 'data' listener).
 */
export function guardPacketSize(
  stream: Duplex,
  maxBytes: number,
  onOversize: (declaredBytes: number) => void,
  /** Sees each packet's type (high nibble of the first byte) as its header completes. */
  onPacket?: (type: number) => void,
): void {
  let type = 0;
  let skip = 0; // bytes of the current packet body still to pass
  let inHeader = false; // the type byte has been read, the length varint is in progress
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let tripped = false;

  stream.on('data', (chunk: Buffer) => {
    if (tripped) return;
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const step = Math.min(skip, chunk.length - i);
        skip -= step;
        i += step;
        continue;
      }
      if (!inHeader) {
        inHeader = true;
        type = chunk[i]! >> 4;
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
        i++; // packet type and flags
        continue;
      }
      const byte = chunk[i++]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      lengthBytes++;
      if ((byte & 0x80) !== 0 && lengthBytes < 4) continue;
      inHeader = false;
      if (length > maxBytes || (byte & 0x80) !== 0) {
        tripped = true;
        onOversize(length);
        return;
      }
      skip = length;
      onPacket?.(type);
      if (tripped || stream.destroyed) return;
    }
  });
}
