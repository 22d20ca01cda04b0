/**
 * Last line of defence for logs: every log line passes through here before it is written, and
 * anything shaped like one of our credentials is masked, keeping only its recognisable prefix.
 */
const CREDENTIAL =
  /\b((?:sk|pk)_(?:live|test)_|pa_|whsec_)[A-Za-z0-9+/=]{6,}|\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g

export function redactor(extraSecrets: readonly string[] = []): (text: string) => string {
  // Each secret also as it appears inside a JSON string (a configured admin key may hold " or a backslash).
  const literals = [...new Set(extraSecrets.filter((s) => s.length >= 8).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))]
  return (text) => {
    let out = text.replace(CREDENTIAL, (_match, prefix: string | undefined) => `${prefix ?? 'jwt:'}[REDACTED]`)
    for (const secret of literals) if (out.includes(secret)) out = out.split(secret).join('[REDACTED]')
    return out
  }
}
