/** Span attribute keys and values: ours under `switchyard.*`, GenAI/HTTP semantic-convention keys copied here. */

export const TRACER_NAME = 'switchyard'

// Routing decision (on the SERVER span and on the stage span that made it).
export const ATTR_SWITCHYARD_REQUEST_ID = 'switchyard.request_id'
export const ATTR_SWITCHYARD_ROUTE = 'switchyard.route'
export const ATTR_SWITCHYARD_CLASS = 'switchyard.class'
export const ATTR_SWITCHYARD_CONFIDENCE = 'switchyard.confidence'
export const ATTR_SWITCHYARD_CLASSIFIER = 'switchyard.classifier'
export const ATTR_SWITCHYARD_CLASSIFIER_VERSION = 'switchyard.classifier.version'
export const ATTR_SWITCHYARD_REASONS = 'switchyard.reasons'
export const ATTR_SWITCHYARD_CANDIDATES = 'switchyard.candidates'
export const ATTR_SWITCHYARD_BACKEND = 'switchyard.backend'
export const ATTR_SWITCHYARD_MODEL = 'switchyard.model'
export const ATTR_SWITCHYARD_FALLBACK_COUNT = 'switchyard.fallback_count'
export const ATTR_SWITCHYARD_CACHE = 'switchyard.cache'
export const ATTR_SWITCHYARD_AUDITOR = 'switchyard.auditor'
export const ATTR_SWITCHYARD_AUDIT_SCORE = 'switchyard.audit.score'
export const ATTR_SWITCHYARD_AUDIT_REASONS = 'switchyard.audit.reasons'
export const ATTR_SWITCHYARD_AUDIT_DECISION = 'switchyard.audit.decision'
export const ATTR_SWITCHYARD_ESCALATED = 'switchyard.escalated'
/** 0-based index of an upstream attempt (CLIENT span); > 0 means a fallback. */
export const ATTR_SWITCHYARD_ATTEMPT = 'switchyard.attempt'
/** `true` when a `gen_ai.usage.*` count is the gateway's estimate (no usage from the upstream, or a cut stream). */
export const ATTR_SWITCHYARD_USAGE_ESTIMATED = 'switchyard.usage.estimated'

// GenAI semantic conventions (development status; REFERENCE §5.1).
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name'
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name'
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model'
export const ATTR_GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream'
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens'
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature'
export const ATTR_GEN_AI_REQUEST_SEED = 'gen_ai.request.seed'
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model'
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons'
export const ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk'
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens'
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens'
/** Opt-in only (`captureContent`): prompt and completion text. */
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages'
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages'

// Stable HTTP / general conventions.
export const ATTR_SERVER_ADDRESS = 'server.address'
export const ATTR_SERVER_PORT = 'server.port'
export const ATTR_ERROR_TYPE = 'error.type'
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method'
export const ATTR_HTTP_ROUTE = 'http.route'
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code'
export const ATTR_URL_PATH = 'url.path'

/** Span event marking the first body chunk of an upstream answer (time to first token). */
export const EVENT_GEN_AI_FIRST_CHUNK = 'gen_ai.first_chunk'

/** `gen_ai.operation.name` per request operation (REFERENCE §5.1 well-known values). */
export const GEN_AI_OPERATIONS = {
  chat: 'chat',
  generate: 'text_completion',
  completion: 'text_completion',
  embed: 'embeddings',
} as const

/** Low-cardinality `error.type` values of our own. */
export const ERROR_TYPE_CANCELLED = 'cancelled'
export const ERROR_TYPE_TIMEOUT = 'timeout'
export const ERROR_TYPE_CONNECTION = 'connection_error'
export const ERROR_TYPE_STREAM = 'stream_error'
export const ERROR_TYPE_OTHER = '_OTHER'

/** The standard GenAI opt-in switch; the `otel` plugin's `captureContent` option sets it for the process. */
export const CAPTURE_CONTENT_ENV = 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'
