export { startBroker, type BrokerHandle, type BrokerOptions, type BrokerStats, type Refusal, type RefusalKind, type BrokerLimits, DEFAULT_LIMITS } from './broker';
export { checkPublish, checkSubscribe, MAX_PUBLISH_BYTES } from './acl';
export type { RateLimit } from '../../shared/rate-limit/token-bucket';
