export {
  Mesh,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DISCONNECT_GRACE_MS,
  DEFAULT_MAX_PEERS,
  DEFAULT_REDISCOVER_MS,
  type MeshDiscoveryOptions,
  DEFAULT_RECONNECT_SCHEDULE_MS,
  EXTRA_CHANNEL_PREFIXES,
  type ConnectionState,
  type MeshEvents,
  type MeshOptions,
  type MeshPeer,
  type MeshSignaling,
  type MeshStateEvent,
  type MeshStats,
  type SignalKind,
  type TimerHandle,
} from './mesh';
export { MAX_FRAME_BYTES, fitsFrame, utf8ByteLength } from './frame';
export { MESSAGE_CHANNEL_LABEL } from './peer-session';
export { MemorySignalingBus, type MemoryBusOptions } from './memory-signaling';
export { runChain, DEFAULT_CHAIN, DEFAULT_SLACK, DEFAULT_GRACE_MS, type RunnerOptions } from './discovery/runner';
export type { DiscoveryHost, DiscoveryStep, StepAnswer, StepContext } from './discovery/types';
