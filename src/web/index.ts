/**
 * HTTP presentation: pages, responses, body parsing, metrics, logging and origin checks.
 * Pure functions over node:http types; no server and no sockets here.
 */
export { escapeHtml } from './pages/escape.js';
export { PAGE_CSP, PAGE_STYLE, PAGE_STYLE_HASH } from './pages/style.js';
export { renderLoginPage, type LoginPageOptions } from './pages/login.js';
export { renderPasswordPage, type PasswordPageOptions } from './pages/password.js';
export { renderSessionsPage, type SessionRow, type SessionsPageOptions } from './pages/sessions.js';
export { renderHomePage, type HomeLink, type HomePageOptions } from './pages/home.js';
export {
  operationFormId,
  renderOneTimePasswordPage,
  renderUserConfirmPage,
  renderUsersPage,
  type OneTimePasswordPageOptions,
  type UserConfirmPageOptions,
  type UserOperation,
  type UserRow,
  type UsersPageOptions,
} from './pages/users.js';
export { renderErrorPage } from './pages/error.js';
export { DEFAULT_SITE_NAME, type PageFrame } from './pages/layout.js';
export { absoluteTime, durationText, relativeTime, timeHtml, UTC_ZONE, zoneFormat, MAX_TIME_ZONE_CHARS, type PageClock, type ZoneFormat } from './pages/time.js';
export { wantsHtml } from './accept.js';
export { errorCodeForStatus, errorStatus, reasonPhrase } from './status.js';
export { retryAfterSeconds, sendEmpty, sendError, setPageSite, sendHtml, sendJson, sendRedirect, sendText, type AcceptSource, type ExtraHeaders } from './respond.js';
export { readBody, type ReadBodyOptions } from './body.js';
export { parseForm, MAX_FORM_FIELDS } from './form.js';
export { parseJsonObject } from './json.js';
export { mediaType } from './media-type.js';
export {
  MetricsRegistry,
  METRICS_CONTENT_TYPE,
  formatSampleValue,
  type CounterDeclaration,
  type GaugeDeclaration,
  type LabelValues,
  type Labels,
  type MetricsRegistryOptions,
} from './metrics.js';
export { LogRateLimit } from './log-rate-limit.js';
export { createLogger, formatLogLine, REDACTED_KEY_REGEXP, type LogFunction, type LogLevel, type Logger, type LoggerOptions } from './log.js';
export { isSameOrigin, type OriginRequest, type SameOriginOptions } from './origin.js';
export { defaultHostAllowed, hostAllowed } from './host.js';
export { originFormTarget } from './target.js';
export { safeNextPath, MAX_NEXT_PATH_CHARS } from './next-path.js';
