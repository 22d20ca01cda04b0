/**
 * Forged, tampered and misused session tokens (§0.2, §4.2, §9 Tokens). Every row must be a 401
 * problem+json with the right code and the RFC 6750 challenge — never a 200, never a 500.
 */
import { createHmac } from 'node:crypto'
import { type CryptoKey, SignJWT, exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Response, type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { b64url, claimsFor, decodeParts, mintToken, signWithParleyKey, upsertUser } from './helpers/session-helpers.js'

let t: TestParley
let tenant: TestTenant
let other: TestTenant
let ourKid: string
let ourPublicJwk: Record<string, string>
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  other = await t.createTenant()
  for (const id of ['alice', 'bob']) await upsertUser(t, tenant.liveKey, id)
  await upsertUser(t, other.liveKey, 'alice')
  ourKid = t.parley.services.signingKeys.signingKey().kid
  const jwks = await t.call('GET', '/.well-known/jwks.json')
  ourPublicJwk = jwks.body.keys.find((k: { kid: string }) => k.kid === ourKid)
})
afterAll(() => t.close())

const CHALLENGE = 'Bearer realm="parley", error="invalid_token"'
const now = () => Math.floor(Date.now() / 1000)

function expectRefused(res: Response, code: string, label: string): void {
  expect(res.status, `${label}: ${res.text}`).toBe(401)
  expect(res.headers['content-type'], label).toContain('application/problem+json')
  expect(res.body?.code, label).toBe(code)
  expect(res.body.user, label).toBeUndefined()
  if (['invalid_token', 'token_expired', 'token_revoked'].includes(code)) {
    expect(res.headers['www-authenticate'], label).toBe(CHALLENGE)
  } else {
    expect(String(res.headers['www-authenticate']), label).toMatch(/^Bearer realm="parley"/)
  }
}

/** HS256 over header.payload with `secret`, the classic algorithm-confusion forgery. */
function hs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

async function ownEs256(): Promise<{ privateKey: CryptoKey; publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateKey: privateKey as CryptoKey, publicJwk: (await exportJWK(publicKey)) as Record<string, unknown> }
}

async function publicPem(): Promise<string> {
  const { createPublicKey } = await import('node:crypto')
  return createPublicKey({ key: ourPublicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
}

describe('positive controls (the forging helpers produce tokens Parley accepts)', () => {
  it('a token signed in-process with Parley’s key and its usual claims works', async () => {
    const token = await signWithParleyKey(t, claimsFor(t, tenant.id, 'alice'))
    const res = await t.call('GET', '/v1/me', { auth: token })
    expect(res.status).toBe(200)
    expect(res.body.user.id).toBe('alice')
  })

  it('exactly 24 h of lifetime and an iat 20 s ahead (within the skew) are accepted', async () => {
    const iat = now()
    expect((await t.call('GET', '/v1/me', { auth: await signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iat, exp: iat + 86_400 })) })).status).toBe(200)
    expect((await t.call('GET', '/v1/me', { auth: await signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iat: iat + 20, exp: iat + 600 })) })).status).toBe(200)
  })
})

type Row = [label: string, build: () => Promise<string> | string, code: string]

const rows: Row[] = [
  [
    'alg none (unsigned)',
    () => `${b64url({ alg: 'none', typ: 'JWT', kid: ourKid })}.${b64url(claimsFor(t, tenant.id, 'alice'))}.`,
    'invalid_token',
  ],
  [
    'alg none with a kept signature segment',
    async () => {
      const genuine = (await mintToken(t, tenant.liveKey, 'alice')).token
      return `${b64url({ alg: 'none', typ: 'JWT', kid: ourKid })}.${genuine.split('.')[1]}.${genuine.split('.')[2]}`
    },
    'invalid_token',
  ],
  ['HS256 keyed with our JWK x coordinate', () => hs256({ alg: 'HS256', typ: 'JWT', kid: ourKid }, claimsFor(t, tenant.id, 'alice'), ourPublicJwk.x!), 'invalid_token'],
  ['HS256 keyed with our public JWK JSON', () => hs256({ alg: 'HS256', typ: 'JWT', kid: ourKid }, claimsFor(t, tenant.id, 'alice'), JSON.stringify(ourPublicJwk)), 'invalid_token'],
  ['HS256 keyed with our public key PEM', async () => hs256({ alg: 'HS256', typ: 'JWT', kid: ourKid }, claimsFor(t, tenant.id, 'alice'), await publicPem()), 'invalid_token'],
  [
    'tampered payload (sub changed, signature kept)',
    async () => {
      const [h, p, s] = (await mintToken(t, tenant.liveKey, 'alice')).token.split('.')
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString())
      return `${h}.${b64url({ ...payload, sub: 'bob' })}.${s}`
    },
    'invalid_token',
  ],
  [
    'tampered payload (scopes removed from a narrowed token)',
    async () => {
      const [h, p, s] = (await mintToken(t, tenant.liveKey, 'alice', { scopes: ['conversations:read'] })).token.split('.')
      const { scopes: _dropped, ...payload } = JSON.parse(Buffer.from(p!, 'base64url').toString())
      return `${h}.${b64url(payload)}.${s}`
    },
    'invalid_token',
  ],
  [
    'signature of another genuine token',
    async () => {
      const a = (await mintToken(t, tenant.liveKey, 'alice')).token.split('.')
      const b = (await mintToken(t, tenant.liveKey, 'bob')).token.split('.')
      return `${a[0]}.${a[1]}.${b[2]}`
    },
    'invalid_token',
  ],
  [
    'signed with an attacker ES256 key under our kid',
    async () => {
      const { privateKey } = await ownEs256()
      return new SignJWT(claimsFor(t, tenant.id, 'alice')).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: ourKid }).sign(privateKey)
    },
    'invalid_token',
  ],
  [
    'attacker key embedded in the header (jwk injection) under our kid',
    async () => {
      const { privateKey, publicJwk } = await ownEs256()
      return new SignJWT(claimsFor(t, tenant.id, 'alice'))
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: ourKid, jwk: publicJwk as never })
        .sign(privateKey)
    },
    'invalid_token',
  ],
  [
    'attacker ES512 key under our kid',
    async () => {
      const { privateKey } = await generateKeyPair('ES512')
      return new SignJWT(claimsFor(t, tenant.id, 'alice')).setProtectedHeader({ alg: 'ES512', typ: 'JWT', kid: ourKid }).sign(privateKey)
    },
    'invalid_token',
  ],
  ['genuine key, no exp', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { exp: undefined })), 'invalid_token'],
  ['genuine key, exp as a string', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { exp: String(now() + 600) })), 'invalid_token'],
  ['genuine key, 10-year exp', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { exp: now() + 10 * 365 * 86_400 })), 'invalid_token'],
  ['genuine key, lifetime 24 h + 1 s', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { exp: now() + 86_401 })), 'invalid_token'],
  ['genuine key, no iat', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iat: undefined })), 'invalid_token'],
  ['genuine key, iat 120 s in the future', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iat: now() + 120, exp: now() + 600 })), 'invalid_token'],
  ['genuine key, nbf 120 s in the future', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { nbf: now() + 120 })), 'invalid_token'],
  ['genuine key, aud ≠ tid', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { aud: other.id })), 'invalid_token'],
  ['genuine key, aud as an array holding tid', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { aud: [tenant.id, other.id] })), 'invalid_token'],
  ['genuine key, no aud', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { aud: undefined })), 'invalid_token'],
  ['genuine key, wrong iss', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iss: 'http://evil.test' })), 'invalid_token'],
  ['genuine key, env "prod"', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { env: 'prod' })), 'invalid_token'],
  ['genuine key, kind "admin"', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { kind: 'admin' })), 'invalid_token'],
  ['genuine key, no sub', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { sub: undefined })), 'invalid_token'],
  ['genuine key, no jti', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { jti: undefined })), 'invalid_token'],
  ['genuine key, scopes not a list', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { scopes: '*' })), 'invalid_token'],
  ['genuine key, alg header HS256 claimed', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice'), { alg: 'ES256', typ: 'JWT' }).then((tok) => `${b64url({ alg: 'HS256', typ: 'JWT', kid: ourKid })}.${tok.split('.').slice(1).join('.')}`), 'invalid_token'],
  ['genuine key, unknown kid', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice'), { kid: 'sig_AAAAAAAAAAAAAAAA' }), 'invalid_token'],
  ['genuine key, no kid', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice'), { kid: undefined }), 'invalid_token'],
  ['genuine key, hostile kid ../../x', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice'), { kid: '../../x' }), 'invalid_token'],
  ['genuine key, hostile kid of 10 KB', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice'), { kid: 'k'.repeat(10_240) }), 'invalid_token'],
  ['genuine key, kid as an object', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice'), { kid: { $ne: null } as never }), 'invalid_token'],
  [
    'expired an hour ago (genuine key)',
    () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iat: now() - 7200, exp: now() - 3600 })),
    'token_expired',
  ],
  ['expired 31 s ago, past the skew (genuine key)', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iat: now() - 600, exp: now() - 31 })), 'token_expired'],
  ['a user that never existed (genuine key)', () => signWithParleyKey(t, claimsFor(t, tenant.id, 'nobody')), 'token_revoked'],
  ['a tenant that does not exist (genuine key)', () => signWithParleyKey(t, claimsFor(t, 'ten_doesnotexist0000000000', 'alice', { tid: 'ten_doesnotexist0000000000' })), 'token_revoked'],
  ['header segment that is not JSON', () => `${b64url('not json')}.${b64url(claimsFor(t, tenant.id, 'alice'))}.AAAA`, 'invalid_token'],
  ['payload segment that is not JSON', () => `${b64url({ alg: 'ES256', typ: 'JWT', kid: ourKid })}.${b64url('nope')}.AAAA`, 'invalid_token'],
  ['three empty-ish segments', () => 'eyJ9.eyJ9.', 'invalid_token'],
]

describe('forged and malformed tokens → 401 with the right code', () => {
  it.each(rows)('%s', async (label, build, code) => {
    const token = await build()
    for (const url of ['/v1/me', '/v1/identity/me', '/v1/conversations']) {
      expectRefused(await t.call('GET', url, { auth: token }), code, `${label} on ${url}`)
    }
  })
})

describe('malformed token shapes', () => {
  // These look like JWTs (they start with a JWT header) but have the wrong number of segments or
  // characters outside base64url. §0.2 lists "session token malformed" under invalid_token.
  const shapes: Array<[string, (genuine: string) => string]> = [
    ['two segments', (g) => g.split('.').slice(0, 2).join('.')],
    ['four segments', (g) => `${g}.AAAA`],
    ['five segments (JWE-like)', (g) => `${g}.AAAA.BBBB`],
    ['standard-base64 characters (+ / =)', (g) => `${g.slice(0, -3)}+/=`],
    ['a percent sign inside', (g) => `${g.slice(0, 20)}%${g.slice(21)}`],
  ]
  it.each(shapes)('%s → 401 invalid_token', async (label, mangle) => {
    const genuine = (await mintToken(t, tenant.liveKey, 'alice')).token
    expectRefused(await t.call('GET', '/v1/me', { auth: mangle(genuine) }), 'invalid_token', label)
  })

  it('malformed shapes are refused with a 401, never 500 (whatever the code)', async () => {
    const genuine = (await mintToken(t, tenant.liveKey, 'alice')).token
    for (const [label, mangle] of shapes) {
      const res = await t.call('GET', '/v1/me', { auth: mangle(genuine) })
      expect(res.status, label).toBe(401)
      expect(['invalid_token', 'invalid_api_key'], label).toContain(res.body.code)
      expect(res.headers['www-authenticate'], label).toMatch(/^Bearer realm="parley"/)
    }
  })
})

describe('oversized tokens', () => {
  it('a 16 KB token through inject → 401 invalid_token', async () => {
    const genuine = (await mintToken(t, tenant.liveKey, 'alice')).token
    const [h, p] = genuine.split('.')
    const padded = `${h}.${p}${'A'.repeat(16 * 1024 - genuine.length)}.${genuine.split('.')[2]}`
    expect(padded.length).toBeGreaterThanOrEqual(16 * 1024)
    expectRefused(await t.call('GET', '/v1/me', { auth: padded }), 'invalid_token', '16 KB')
  })

  it('a 16 KB token over real HTTP → 401 or 431, problem+json either way', async () => {
    const base = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const genuine = (await mintToken(t, tenant.liveKey, 'alice')).token
      const padded = `${genuine.split('.')[0]}.${'A'.repeat(16 * 1024)}.${genuine.split('.')[2]}`
      const res = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${padded}` } })
      expect([401, 431]).toContain(res.status)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      const body = (await res.json()) as { code: string }
      expect(body.code).toBe(res.status === 401 ? 'invalid_token' : 'invalid_request')
    } finally {
      await t.parley.app.server.close()
    }
  })
})

describe('tokens are bound to their tenant, environment and user state', () => {
  it('another tenant’s token with x-tenant-id of the first → 401 tenant_mismatch', async () => {
    const { token } = await mintToken(t, other.liveKey, 'alice')
    for (const name of ['x-tenant-id', 'x-sender-id']) {
      const res = await t.call('GET', '/v1/me', { auth: token, headers: { [name]: tenant.id } })
      expectRefused(res, 'tenant_mismatch', name)
    }
    // Its own tenant id in the header is fine.
    expect((await t.call('GET', '/v1/me', { auth: token, headers: { 'x-tenant-id': other.id } })).status).toBe(200)
  })

  it('another tenant’s token for the same user id acts in its own tenant only', async () => {
    const { token } = await mintToken(t, other.liveKey, 'alice')
    const me = await t.call('GET', '/v1/identity/me', { auth: token })
    expect(me.status).toBe(200)
    expect(me.body.tenant.id).toBe(other.id)
    expect(me.body.tenant.id).not.toBe(tenant.id)

    const conv = await t.call('POST', '/v1/conversations', { auth: tenant.liveKey, body: { type: 'group', members: ['alice', 'bob'] } })
    expect(conv.status).toBe(201)
    const own = await mintToken(t, tenant.liveKey, 'alice')
    expect((await t.call('GET', `/v1/conversations/${conv.body.id}`, { auth: own.token })).status).toBe(200)
    const res = await t.call('GET', `/v1/conversations/${conv.body.id}`, { auth: token })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('not_found')
  })

  it('a genuine token claiming another tenant via tid/aud while the user only exists in ours → token_revoked, not access', async () => {
    // Parley signs for every tenant with one key; the claims alone decide the tenant, so the
    // user lookup in that tenant must happen. (other has no user "bob".)
    const token = await signWithParleyKey(t, claimsFor(t, other.id, 'bob', { aud: other.id, tid: other.id }))
    expectRefused(await t.call('GET', '/v1/me', { auth: token }), 'token_revoked', 'cross-tenant bob')
  })

  it('revoked → 401 token_revoked', async () => {
    await upsertUser(t, tenant.liveKey, 'revoked-user')
    const { token } = await mintToken(t, tenant.liveKey, 'revoked-user')
    expect((await t.call('POST', '/v1/users/revoked-user/revoke-tokens', { auth: tenant.liveKey })).status).toBe(204)
    expectRefused(await t.call('GET', '/v1/me', { auth: token }), 'token_revoked', 'revoked')
  })

  it('deleted user → 401 token_revoked', async () => {
    await upsertUser(t, tenant.liveKey, 'deleted-user')
    const { token } = await mintToken(t, tenant.liveKey, 'deleted-user')
    expect((await t.call('GET', '/v1/me', { auth: token })).status).toBe(200)
    expect((await t.call('DELETE', '/v1/users/deleted-user', { auth: tenant.liveKey })).status).toBe(204)
    expectRefused(await t.call('GET', '/v1/me', { auth: token }), 'token_revoked', 'deleted')
  })

  it('deleted tenant → 401 token_revoked; suspended tenant → 403 forbidden', async () => {
    const doomed = await t.createTenant()
    await upsertUser(t, doomed.liveKey, 'u')
    const { token } = await mintToken(t, doomed.liveKey, 'u')
    expect((await t.call('GET', '/v1/me', { auth: token })).status).toBe(200)

    const suspend = await t.call('PATCH', `/v1/admin/tenants/${doomed.id}`, { auth: t.adminKey, body: { suspended: true } })
    expect(suspend.status).toBe(200)
    const suspended = await t.call('GET', '/v1/me', { auth: token })
    expect(suspended.status).toBe(403)
    expect(suspended.body.code).toBe('forbidden')

    expect((await t.call('DELETE', `/v1/admin/tenants/${doomed.id}`, { auth: t.adminKey })).status).toBe(204)
    expectRefused(await t.call('GET', '/v1/me', { auth: token }), 'token_revoked', 'deleted tenant')
  })

  it('a live token re-signed with env "test" for a user that exists only in live → token_revoked', async () => {
    const token = await signWithParleyKey(t, claimsFor(t, tenant.id, 'bob', { env: 'test' }))
    expectRefused(await t.call('GET', '/v1/me', { auth: token }), 'token_revoked', 'env flip')
  })
})

describe('a token never exceeds the key that minted it (§12)', () => {
  async function keyWith(scopes: string[]): Promise<string> {
    const res = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'session route', type: 'secret', scopes } })
    expect(res.status, res.text).toBe(201)
    return res.body.key
  }

  it('a tokens:write-only key’s token, minted without scopes, gets what the key gets: 403 on conversations and messages', async () => {
    const key = await keyWith(['tokens:write'])
    const { token } = await mintToken(t, key, 'alice')
    expect(decodeParts(token).payload.scopes).toEqual(['tokens:write'])
    const conversation = await t.call('POST', '/v1/conversations', { auth: tenant.liveKey, body: { type: 'group', members: ['alice', 'bob'] } })
    const send = await t.call('POST', `/v1/conversations/${conversation.body.id}/messages`, { auth: token, body: { text: 'hi' } })
    expect(send.status, send.text).toBe(403)
    expect(send.body.code).toBe('insufficient_scope')
    expect((await t.call('GET', '/v1/conversations', { auth: token })).body.code).toBe('insufficient_scope')
  })

  it('a scoped key’s token carries the key’s scopes, patterns included, also when asked for none (`scopes: []`)', async () => {
    const key = await keyWith(['tokens:write', 'messages:*', 'conversations:read'])
    for (const body of [{}, { scopes: [] }]) {
      const res = await t.call('POST', '/v1/auth/token', { auth: key, body: { userId: 'alice', ...body } })
      expect(res.status, res.text).toBe(201)
      expect(decodeParts(res.body.token).payload.scopes).toEqual(['tokens:write', 'messages:*', 'conversations:read'])
    }
  })

  it('scopes asked for are kept when within the key’s, and refused beyond them', async () => {
    const key = await keyWith(['tokens:write', 'messages:*'])
    const narrow = await mintToken(t, key, 'alice', { scopes: ['messages:read'] })
    expect(decodeParts(narrow.token).payload.scopes).toEqual(['messages:read'])
    const wider = await t.call('POST', '/v1/auth/token', { auth: key, body: { userId: 'alice', scopes: ['conversations:read'] } })
    expect(wider.status).toBe(403)
    expect(wider.body.code).toBe('insufficient_scope')
  })

  it('an unscoped key’s token is unscoped (no scopes claim) unless it asks for some', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice')
    expect(decodeParts(token).payload.scopes).toBeUndefined()
    expect((await t.call('GET', '/v1/conversations', { auth: token })).status).toBe(200)
  })

  it('the admin key acting on a tenant mints unscoped tokens, like an unscoped key', async () => {
    const res = await t.call('POST', '/v1/auth/token', {
      auth: t.adminKey,
      headers: { 'x-tenant-id': tenant.id, 'x-environment': 'live' },
      body: { userId: 'alice' },
    })
    expect(res.status, res.text).toBe(201)
    expect(decodeParts(res.body.token).payload.scopes).toBeUndefined()
  })
})
