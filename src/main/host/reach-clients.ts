/**
 * The reach layer's clients as the host uses them: one WsSignalClient per signal server, and the
 * registry's HTTP client. Kept out of host.ts so in-process tests can pass their own.
 */
import { nodeSigner } from '../crypto/node-signer';
import type { Identity } from '../../shared/identity';
import { WsSignalClient } from '../signaling/ws-signal-client';
import { RegistryClient } from '../registry/registry-client';
import type { WsClientLike } from '../signaling/signal-router';
import type { RegistryClientLike } from './discovery/registry-link';

export function wsClientFactory(serverUrl: string, ctx: { identity: Identity; deviceId: string }): WsClientLike {
  const client = new WsSignalClient({ serverUrl, deviceId: ctx.deviceId, identity: ctx.identity, signer: nodeSigner });
  return {
    get signalAddr() { return client.signalAddr; },
    get currentState() { return client.currentState; },
    start: () => client.start(),
    stop: () => client.stop(),
    send: (frame) => client.send(frame),
    on: ((event: 'frame' | 'serverError' | 'state', listener: (payload: unknown) => void) => {
      if (event === 'frame') return client.on('frame', listener);
      if (event === 'serverError') return client.on('serverError', listener);
      return client.on('state', listener);
    }) as WsClientLike['on'],
  };
}

export function registryClientFactory(url: string, ctx: { identity: Identity }): RegistryClientLike {
  const client = new RegistryClient({ baseUrl: url, identity: ctx.identity, signer: nodeSigner });
  return {
    getPeer: (networkId, userId, opts) => client.getPeer(networkId, userId, opts ?? {}),
    // The client signs the announce itself (fresh ts per attempt); pass the fields only.
    announce: (networkId, announce, opts) => {
      const { userId: _u, ts: _t, sig: _s, networkId: _n, ...fields } = announce;
      return client.announce(networkId, fields, opts ?? {});
    },
    ice: (opts) => client.ice(opts ?? {}),
    heartbeat: (fields, opts) => client.heartbeat(fields, opts ?? {}),
  };
}
