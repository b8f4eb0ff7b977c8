/** The shared-state engine client (Redis/Valkey over RESP): re-exports only. */
export { DEFAULT_KEY_PREFIX, EngineTarget, parseEngineUrl, parseKeyPrefix } from './engine-target.js';
export { encodeCommand, MAX_COMMAND_BYTES, type RespArg } from './resp-command.js';
export {
  DEFAULT_PARSER_LIMITS, MAX_AGGREGATE_LENGTH, MAX_BUFFERED_BYTES, MAX_BULK_BYTES, MAX_LINE_BYTES, MAX_NESTING_DEPTH,
  RespErrorReply, RespParser, type RespParserLimits, type RespValue,
} from './resp-parser.js';
export { reconnectDelayMs, type LinkState, type LinkStats, type LinkTlsOptions } from './resp-link.js';
export { EngineReplyError, type CommandQueueStats } from './resp-commands.js';
export { MAX_SUBSCRIPTIONS, type MessageHandler, type SubscriberStats } from './resp-subscriber.js';
export { RespClient, type EngineLinkName, type LinkChange, type RespClientOptions, type RespClientStats } from './resp-client.js';
