export { startBroker, type BrokerHandle, type BrokerOptions, type BrokerStats, type Refusal, type RefusalKind } from './broker';
export { checkPublish, checkSubscribe, MAX_PUBLISH_BYTES } from './acl';
export type { RateLimit } from './token-bucket';
