/** Default ports, shown so the operator sees the full address Parley connects to. */
const DEFAULT_PORTS: Record<string, string> = { 'postgres:': '5432', 'postgresql:': '5432', 'redis:': '6379', 'rediss:': '6379' }

/**
 * A connection URL safe to print: scheme, host, port and path (the database), nothing else.
 * User, password and query parameters (which may hold a password too) are dropped.
 */
export function displayUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `${url.split(':')[0]}://(unparsable URL)`
  }
  const port = parsed.port || DEFAULT_PORTS[parsed.protocol]
  const path = parsed.pathname === '/' ? '' : parsed.pathname
  return `${parsed.protocol}//${parsed.hostname || 'localhost'}${port ? `:${port}` : ''}${path}`
}
