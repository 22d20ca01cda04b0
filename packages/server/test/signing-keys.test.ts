/** Session-token signing keys: rotation with overlap, retirement, encryption at rest, the KEK. */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { decodeParts, mintToken, upsertUser } from './helpers/session-helpers.js'
import { sleep } from './helpers/wait.js'

const kek = () => randomBytes(32).toString('base64')
const kidsOf = async (t: TestParley): Promise<string[]> => (await t.call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)

describe('rotation on one node', () => {
  let t: TestParley
  let tenant: TestTenant
  beforeAll(async () => {
    t = await startParley()
    tenant = await t.createTenant()
    await upsertUser(t, tenant.liveKey, 'alice')
  })
  afterAll(() => t.close())

  it('needs the admin key', async () => {
    const none = await t.call('POST', '/v1/admin/signing-keys/rotate')
    expect(none.status).toBe(401)
    expect(none.body.code).toBe('authentication_required')
    const secret = await t.call('POST', '/v1/admin/signing-keys/rotate', { auth: tenant.liveKey })
    expect(secret.status).toBe(403)
    expect(secret.body.kid).toBeUndefined()
    expect(await kidsOf(t)).toHaveLength(1)
  })

  it('rotate → 201 { kid, createdAt }; old tokens keep working, new ones carry the new kid; both kids are published', async () => {
    const [oldKid] = await kidsOf(t)
    const beforeUsed = await mintToken(t, tenant.liveKey, 'alice')
    const beforeUnused = await mintToken(t, tenant.liveKey, 'alice')
    expect(decodeParts(beforeUsed.token).header.kid).toBe(oldKid)
    expect((await t.call('GET', '/v1/me', { auth: beforeUsed.token })).status).toBe(200)

    const rotated = await t.call('POST', '/v1/admin/signing-keys/rotate', { auth: t.adminKey })
    expect(rotated.status).toBe(201)
    expect(Object.keys(rotated.body).sort()).toEqual(['createdAt', 'kid'])
    expect(rotated.body.kid).not.toBe(oldKid)
    expect(Math.abs(Date.parse(rotated.body.createdAt) - Date.now())).toBeLessThan(60_000)
    const newKid: string = rotated.body.kid

    expect((await kidsOf(t)).sort()).toEqual([oldKid, newKid].sort())

    // Overlap: tokens signed by the old key still verify (one cached by an earlier use, one not).
    expect((await t.call('GET', '/v1/me', { auth: beforeUsed.token })).status).toBe(200)
    expect((await t.call('GET', '/v1/me', { auth: beforeUnused.token })).status).toBe(200)

    const after = await mintToken(t, tenant.liveKey, 'alice')
    expect(decodeParts(after.token).header.kid).toBe(newKid)
    expect((await t.call('GET', '/v1/me', { auth: after.token })).status).toBe(200)

    // An independent verifier holding the published JWKS accepts both.
    const jwks = createLocalJWKSet((await t.call('GET', '/.well-known/jwks.json')).body)
    for (const token of [beforeUnused.token, after.token]) {
      await expect(jwtVerify(token, jwks, { issuer: t.publicUrl, audience: tenant.id })).resolves.toBeTruthy()
    }
  })

  it('once the old key is past its retire time, its tokens fail and it leaves the JWKS', async () => {
    const db = t.parley.store.db
    const [retiring] = await db.selectFrom('signing_keys').selectAll().where('rotated_at', 'is not', null).execute()
    expect(retiring).toBeDefined()
    // The retire time the rotation chose covers the longest token life (24 h) and then some.
    expect(Date.parse(retiring!.retire_after!) - Date.parse(retiring!.rotated_at!)).toBeGreaterThanOrEqual(86_400_000)

    const { kid: currentKid } = t.parley.services.signingKeys.signingKey()
    expect(retiring!.kid).not.toBe(currentKid)
    const rotate = await t.call('POST', '/v1/admin/signing-keys/rotate', { auth: t.adminKey })
    expect(rotate.status).toBe(201)
    // Tokens are now signed with a third key; the second stays published (within its overlap).
    const current = await mintToken(t, tenant.liveKey, 'alice')

    await db.updateTable('signing_keys').set({ retire_after: new Date(Date.now() - 1000).toISOString() }).where('kid', '=', retiring!.kid).execute()
    await t.parley.services.signingKeys.reload()

    const kids = await kidsOf(t)
    expect(kids).not.toContain(retiring!.kid)
    expect(kids).toContain(currentKid)
    expect(kids).toContain(rotate.body.kid)
    expect((await t.call('GET', '/v1/me', { auth: current.token })).status).toBe(200)
  })

  it('a never-presented token signed by a retired key → 401 invalid_token', async () => {
    const db = t.parley.store.db
    const pre = await mintToken(t, tenant.liveKey, 'alice')
    const kid = decodeParts(pre.token).header.kid as string
    const rotate = await t.call('POST', '/v1/admin/signing-keys/rotate', { auth: t.adminKey })
    expect(rotate.status).toBe(201)
    await db.updateTable('signing_keys').set({ retire_after: new Date(Date.now() - 1000).toISOString() }).where('kid', '=', kid).execute()
    await t.parley.services.signingKeys.reload()

    const res = await t.call('GET', '/v1/me', { auth: pre.token })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_token')
    expect(res.headers['www-authenticate']).toBe('Bearer realm="parley", error="invalid_token"')
    expect(await kidsOf(t)).not.toContain(kid)
  })

  it('stores private keys encrypted: no "d" member, no JWK text in the column', async () => {
    const rows = await t.parley.store.db.selectFrom('signing_keys').selectAll().execute()
    expect(rows.length).toBeGreaterThanOrEqual(3)
    for (const row of rows) {
      expect(row.private_jwk_encrypted).not.toContain('"d"')
      expect(row.private_jwk_encrypted).not.toContain('kty')
      expect(row.private_jwk_encrypted).not.toContain('P-256')
      expect(row.private_jwk_encrypted.length).toBeGreaterThan(100)
      const publicJwk = JSON.parse(row.public_jwk)
      expect(publicJwk).not.toHaveProperty('d')
      expect(publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256' })
    }
    // Two sealed keys never share ciphertext (fresh IVs).
    expect(new Set(rows.map((r) => r.private_jwk_encrypted)).size).toBe(rows.length)
  })
})

describe('the key-encryption key across processes', () => {
  let dir: string
  const started: TestParley[] = []
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-kek-'))
  })
  afterEach(async () => {
    while (started.length) await started.pop()!.close()
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const start = async (file: string, signingKek: string) => {
    const t = await startParley({ env: { PARLEY_DATABASE_URL: `sqlite:${join(dir, file)}`, PARLEY_SIGNING_KEK: signingKek } })
    started.push(t)
    return t
  }

  it('a restart with the same KEK keeps the keys: earlier tokens still verify', async () => {
    const secret = kek()
    const first = await start('same.db', secret)
    const tenant = await first.createTenant()
    await upsertUser(first, tenant.liveKey, 'alice')
    const { token } = await mintToken(first, tenant.liveKey, 'alice')
    const kids = await kidsOf(first)
    await started.pop()!.close()

    const second = await start('same.db', secret)
    expect(await kidsOf(second)).toEqual(kids)
    const me = await second.call('GET', '/v1/me', { auth: token })
    expect(me.status).toBe(200)
    expect(me.body.user.id).toBe('alice')
  })

  it('a second Parley with a different PARLEY_SIGNING_KEK refuses to start, naming the variable', async () => {
    await start('different.db', kek())
    await expect(start('different.db', kek())).rejects.toThrow(/PARLEY_SIGNING_KEK/)
  })

  it('a PARLEY_SIGNING_KEK that is not 32 bytes is refused', async () => {
    await expect(start('short.db', randomBytes(16).toString('base64'))).rejects.toThrow(/PARLEY_SIGNING_KEK/)
  })

  it('two nodes on one database: a rotation on one reaches the other (verification, JWKS, signing)', async () => {
    const secret = kek()
    const a = await start('cluster.db', secret)
    const b = await start('cluster.db', secret)
    const tenant = await a.createTenant()
    await upsertUser(a, tenant.liveKey, 'alice')
    const [oldKid] = await kidsOf(b)

    const rotated = await a.call('POST', '/v1/admin/signing-keys/rotate', { auth: a.adminKey })
    expect(rotated.status).toBe(201)
    const newKid: string = rotated.body.kid
    await sleep(1100)

    // B verifies A's new-kid token (it reloads on an unknown kid).
    const fromA = await mintToken(a, tenant.liveKey, 'alice')
    expect(decodeParts(fromA.token).header.kid).toBe(newKid)
    expect((await b.call('GET', '/v1/me', { auth: fromA.token })).status).toBe(200)
    // Having reloaded, B publishes and signs with the new key too.
    expect(await kidsOf(b)).toContain(newKid)
    expect(decodeParts((await mintToken(b, tenant.liveKey, 'alice')).token).header.kid).toBe(newKid)
    expect(oldKid).not.toBe(newKid)
  })

  // Without a broker between them, a node must still notice a rotation made elsewhere on its own
  // (within the key-cache freshness bound), or it would keep signing with the rotated key and
  // publish a JWKS that cannot verify the tokens the other nodes now issue.
  it('two nodes: without any traffic carrying the new kid, the other node still learns of the rotation', async () => {
    const secret = kek()
    const a = await start('cluster2.db', secret)
    const b = await start('cluster2.db', secret)
    const tenant = await a.createTenant()
    await upsertUser(a, tenant.liveKey, 'alice')

    const rotated = await a.call('POST', '/v1/admin/signing-keys/rotate', { auth: a.adminKey })
    expect(rotated.status).toBe(201)
    await sleep(2500)

    expect(await kidsOf(b)).toContain(rotated.body.kid)
    expect(decodeParts((await mintToken(b, tenant.liveKey, 'alice')).token).header.kid).toBe(rotated.body.kid)
  })
})
