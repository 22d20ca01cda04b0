/** Dashboard sessions for tests: signing in, and the headers a browser on the dashboard sends. */
import type { Response, TestParley } from './parley.js'

export const SESSION_COOKIE = 'parley_dashboard'

export interface SignedIn {
  res: Response
  /** The cookie value, or null when the sign-in set none. */
  cookie: string | null
  /** The whole Set-Cookie header. */
  setCookie: string | null
}

/** POST /v1/dashboard/session with `key`; `headers` go along (an Origin, an old cookie). */
export async function signIn(t: TestParley, key: string, headers: Record<string, string> = {}): Promise<SignedIn> {
  const res = await t.call('POST', '/v1/dashboard/session', { headers, body: { key } })
  const setCookie = [res.headers['set-cookie'] ?? []].flat().find((line) => String(line).startsWith(`${SESSION_COOKIE}=`)) ?? null
  const cookie = setCookie ? /^parley_dashboard=([^;]*)/.exec(String(setCookie))![1]! : null
  return { res, cookie, setCookie: setCookie === null ? null : String(setCookie) }
}

/** A session cookie that must exist: signs in or throws. */
export async function sessionCookie(t: TestParley, key: string): Promise<string> {
  const { res, cookie } = await signIn(t, key)
  if (res.status !== 200 || !cookie) throw new Error(`dashboard sign-in failed: ${res.status} ${res.text}`)
  return cookie
}

/** What the dashboard page sends: the cookie, and its own Origin (Parley's public URL). */
export function fromDashboard(t: TestParley, cookie: string): Record<string, string> {
  return { cookie: `${SESSION_COOKIE}=${cookie}`, origin: t.publicUrl }
}
