/**
 * The optional nginx data plane (`--ingress-backend nginx`): `NginxDataPlane` runs Debian's
 * nginx on configurations rendered by the pure `renderNginxConfig` from the same routing tables
 * the built-in proxy serves.
 */
export { NginxDataPlane, nginxAvailable, findNginx, freePort, type NginxDataPlaneOptions } from './dataplane.js';
export { parseLogLine, AccessLogSink, METRICS_LOG_FORMAT, UPSTREAMINFO_FORMAT, type LogFields } from './accesslog.js';
export { LogTail, type LogTailOptions } from './logtail.js';
export type { RouteInfo } from './locations.js';
export { renderNginxConfig, CONTROL_SOCKET, type NginxRenderOptions, type RenderedNginxConfig } from './render.js';
export { quote, text, regexLiteral, validHost, headerVariable, validCookieName } from './escape.js';
