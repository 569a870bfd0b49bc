export {
  MqttSignaling,
  MAX_SIGNALING_BYTES,
  CONTACT_MAX_AGE_MS,
  type MqttSignalingOptions,
  type MqttSignal,
  type SignalingEvents,
  type SignalingMessageEvent,
  type SignalingState,
  type SignalingStats,
} from './mqtt-signaling';
export { PresenceTracker, HEARTBEAT_INTERVAL_MS, PRESENCE_TIMEOUT_MS, type PresenceChange, type PresenceOptions, type PresenceReason } from './presence';
export { mqttClientId, makeLoginPassword, verifyLogin, LOGIN_MAX_SKEW_MS } from './mqtt-login';
export { inboxTopic, inboxFilter, presenceTopic, parseTopic, isMqttSignalingType } from './topics';
