/**
 * The dashboard end to end, as the operator: a real Parley (in process, listening on a port, with
 * the built dashboard from dist/) and headless Chromium, finding everything by role and accessible
 * name. One story, step by step: sign in with the admin key, create a tenant, create a key and
 * use it, watch its usage, revoke it, roll another with a grace period, register a webhook and
 * retry a failed delivery, read users and conversations, switch to Test, sign out. Every page is
 * scanned by axe-core (no serious or critical violation) and photographed into test-output/.
 * With PARLEY_TEST_REQUIRE_SERVICES=1 (CI) a missing Chromium or build fails instead of skipping.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, startParley } from '../../server/test/helpers/parley.js'
import { CHROMIUM, eventually, launch, openTab } from './helpers/browser.js'
import { Console } from './helpers/console.js'
import { type Receiver, startReceiver } from './helpers/receiver.js'

const DIST_INDEX = join(import.meta.dirname, '..', 'dist', 'index.html')
const required = process.env.PARLEY_TEST_REQUIRE_SERVICES === '1'

describe.runIf(existsSync(CHROMIUM) || required)('the dashboard, as the operator', () => {
  let t: TestParley
  let url: string
  let browser: Browser
  let receiver: Receiver
  let ui: Console
  /** What the story creates, for the steps after. */
  const made = { tenantId: '', liveKey: '', testKey: '', usedKey: '' }

  /** A request with a key, over HTTP, as a tenant's backend makes it. */
  const withKey = (key: string, path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { 'x-api-key': key, 'content-type': 'application/json', ...init.headers } })

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`PARLEY_TEST_REQUIRE_SERVICES=1 but ${CHROMIUM} is missing: apt-get install -y chromium`)
    if (!existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} is missing: run npm run build --workspace @parley/dashboard`)
    // Usage counters flushed often, so the Usage page shows requests within a second; webhooks
    // may go to the receiver on the loopback interface.
    t = await startParley({ env: { PARLEY_FLUSH_INTERVAL_MS: '200', PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true' } })
    url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    receiver = await startReceiver()
    browser = await launch()
    ui = new Console(await openTab(browser, url), url)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await receiver?.close()
    await t?.close()
  })

  it('serves /dashboard with a strict Content-Security-Policy and no framing', async () => {
    const answer = await fetch(`${url}/dashboard/`)
    expect(answer.status).toBe(200)
    const csp = answer.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).toContain("frame-ancestors 'none'")
  })

  it('refuses a wrong key with the API’s detail and keeps the sign-in form', async () => {
    await ui.open()
    await ui.apiKeyField().waitFor()
    const violations = await ui.audit('01-sign-in')
    expect(violations).toEqual([])

    const wrong = `${t.adminKey}x`
    const refusal = await fetch(`${url}/v1/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: wrong }) })
    const { detail } = (await refusal.json()) as { detail: string }
    await ui.signIn(wrong)
    const alert = ui.page.getByRole('alert')
    await eventually(async () => expect(await alert.innerText()).toContain(detail))
    // The request id of the failure can be copied.
    expect(await alert.getByRole('textbox', { name: 'Request id' }).inputValue()).toMatch(/\S+/)
    await expect(ui.apiKeyField().isVisible()).resolves.toBe(true)
    expect(await ui.apiKeyField().inputValue()).toBe('')
    await ui.audit('02-sign-in-refused')
  })

  it('signs in with the admin key, which the page does not keep', async () => {
    await ui.signIn(t.adminKey)
    await ui.heading('Tenants').waitFor()
    const links = await ui.nav().getByRole('link').allInnerTexts()
    expect(links).toEqual(['Tenants', 'API keys', 'Usage', 'Users', 'Conversations', 'Webhooks', 'Push'])
    const cookies = await ui.tab.context.cookies()
    const session = cookies.find((cookie) => cookie.name === 'parley_dashboard')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' })

    const readable = await ui.readableByScript()
    expect(readable).not.toContain(t.adminKey)
    expect(readable).not.toContain(session!.value)
    expect(await ui.audit('03-tenants-empty')).toEqual([])
  })

  it('creates a tenant and shows its two keys once', async () => {
    await ui.button('Create tenant').click()
    const form = ui.dialog('Create tenant')
    await form.getByRole('textbox', { name: 'Name', exact: true }).fill('Acme Corp')
    await form.getByRole('combobox', { name: 'Plan', exact: true }).selectOption('pro')
    expect(await ui.audit('04-create-tenant')).toEqual([])
    await ui.button('Create', form).click()

    const created = ui.dialog(/Tenant Acme Corp created/)
    made.liveKey = await created.getByRole('textbox', { name: 'Live secret key' }).inputValue()
    made.testKey = await created.getByRole('textbox', { name: 'Test secret key' }).inputValue()
    expect(made.liveKey).toMatch(/^sk_live_/)
    expect(made.testKey).toMatch(/^sk_test_/)
    expect(await created.innerText()).toContain('you will not see it again')
    expect(await created.getByRole('button', { name: 'Copy', exact: true }).count()).toBe(2)
    expect(await ui.audit('05-tenant-created')).toEqual([])
    await ui.button('Done', created).click()

    // The keys work, and are gone from the page.
    const me = await withKey(made.liveKey, '/v1/me')
    expect(me.status).toBe(200)
    made.tenantId = ((await me.json()) as any).tenant.id
    const readable = await ui.readableByScript()
    expect(readable).not.toContain(made.liveKey)
    expect(readable).not.toContain(made.testKey)

    const row = ui.rows('Tenants', /Acme Corp/)
    expect(await ui.cells(row)).toEqual(expect.arrayContaining(['Acme Corp', made.tenantId, 'pro', 'Active']))
    await row.getByRole('link', { name: 'Acme Corp' }).click()
    await ui.heading('API keys').waitFor()
    expect(await ui.page.getByRole('combobox', { name: 'Tenant' }).inputValue()).toBe(made.tenantId)
  })

  it('creates a key with scopes, copies it, and the key works', async () => {
    // Opened from the keyboard; Escape closes it and gives focus back to the button.
    const create = ui.button('Create key')
    await create.focus()
    await ui.page.keyboard.press('Enter')
    const form = ui.dialog('Create key')
    await form.waitFor()
    expect(await form.evaluate((dialog) => dialog.contains(document.activeElement))).toBe(true)
    // Tab moves through the whole form and around, staying inside the dialog.
    for (let i = 0; i < 30; i++) await ui.page.keyboard.press('Tab')
    expect(await form.evaluate((dialog) => dialog.contains(document.activeElement))).toBe(true)
    await ui.page.keyboard.press('Escape')
    await eventually(async () => expect(await form.count()).toBe(0))
    expect(await create.evaluate((button) => button === document.activeElement)).toBe(true)

    await create.click()
    await form.getByRole('textbox', { name: 'Name', exact: true }).fill('billing backend')
    await form.getByRole('combobox', { name: 'Type', exact: true }).selectOption('secret')
    for (const scope of ['users:read', 'users:write', 'conversations:read']) await form.getByRole('checkbox', { name: scope, exact: true }).check()
    await form.getByRole('textbox', { name: 'Expires', exact: true }).fill('2099-12-31T12:00')
    await form.getByRole('spinbutton', { name: 'Rate limit', exact: true }).fill('600')
    expect(await ui.audit('06-create-key')).toEqual([])
    await ui.button('Create', form).click()

    const shown = ui.dialog(/New key/)
    const field = shown.getByRole('textbox', { name: 'New key', exact: true })
    made.usedKey = await field.inputValue()
    expect(made.usedKey).toMatch(/^sk_live_/)
    expect(await shown.innerText()).toContain('you will not see it again')
    await ui.button('Copy', shown).click()
    await eventually(async () => expect(await ui.page.evaluate(() => navigator.clipboard.readText())).toBe(made.usedKey))
    expect(await ui.audit('07-new-key')).toEqual([])
    await ui.button('Done', shown).click()
    expect(await ui.readableByScript()).not.toContain(made.usedKey)

    const row = ui.rows('API keys', /billing backend/)
    const cells = await ui.cells(row)
    expect(cells).toEqual(expect.arrayContaining(['billing backend', 'secret', 'active']))
    expect(cells[3]!.split(', ').sort()).toEqual(['conversations:read', 'users:read', 'users:write'])
    expect(cells.join(' ')).toContain('2099')
    expect((await withKey(made.usedKey, '/v1/users')).status).toBe(200)
    expect(await ui.audit('08-keys')).toEqual([])
  })

  it('shows the key’s requests on the Usage page: the chart and the totals change', async () => {
    await ui.goTo('Usage')
    const chart = ui.page.getByRole('img', { name: 'Requests' })
    await chart.waitFor()
    const summary = async () => ui.page.locator(`[id="${await chart.getAttribute('aria-describedby')}"]`).innerText()
    const before = await summary()

    // 3 successes, 2 client errors (a missing scope, an unknown user) with the new key.
    for (let i = 0; i < 3; i++) expect((await withKey(made.usedKey, '/v1/users')).status).toBe(200)
    expect((await withKey(made.usedKey, '/v1/keys')).status).toBe(403)
    expect((await withKey(made.usedKey, '/v1/users/nobody')).status).toBe(404)

    const row = ui.rows('Requests per key', /billing backend/)
    await eventually(
      async () => {
        await ui.button('Refresh').click()
        await ui.page.waitForLoadState('networkidle')
        // Requests, success, client errors, server errors, rate-limited, success rate.
        expect((await ui.cells(row)).slice(1)).toEqual(['6', '4', '2', '0', '0', '66.7 %'])
      },
      15_000,
      300,
    )
    expect(await summary()).not.toBe(before)
    expect(await summary()).toMatch(/^Requests per hour over the last 24 hours: \d+ in total/)
    await chart.waitFor()
    expect(await ui.audit('09-usage')).toEqual([])

    // One key's own usage, per day; the window is in the URL.
    await ui.page.getByRole('combobox', { name: 'Key', exact: true }).selectOption({ label: await ui.page.getByRole('option', { name: /billing backend/ }).innerText() })
    await ui.page.getByRole('combobox', { name: 'Period', exact: true }).selectOption('day')
    await eventually(async () => expect(await summary()).toMatch(/^Requests per day over the last 30 days: 6 in total, 4 succeeded, 2 client errors/))
    expect(ui.page.url()).toContain('granularity=day')
  })

  it('saves alert rules', async () => {
    await ui.page.getByRole('checkbox', { name: 'Error rate', exact: true }).check()
    await ui.page.getByRole('spinbutton', { name: 'Error rate percent', exact: true }).fill('25')
    await ui.button('Save alerts').click()
    await eventually(async () => expect(await ui.page.getByRole('status').allInnerTexts()).toContain('Alert rules saved.'))
    const rules = await t.call('GET', '/v1/alerts', { auth: t.adminKey, headers: { 'x-tenant-id': made.tenantId, 'x-environment': 'live' } })
    expect(rules.body).toEqual({ errorRate: { percent: 25, minRequests: 20 } })
    await ui.page.getByRole('heading', { name: 'Fired alerts' }).waitFor()
  })

  it('revokes a key: the next request with it is refused with 401', async () => {
    await ui.goTo('API keys')
    const row = ui.rows('API keys', /billing backend/)
    await ui.button('Revoke', row).click()
    const confirm = ui.dialog(/Revoke billing backend/)
    expect(await ui.audit('10-revoke-key')).toEqual([])
    await ui.button('Revoke key', confirm).click()
    await eventually(async () => expect(await ui.cells(row)).toContain('revoked'))
    const refused = await withKey(made.usedKey, '/v1/users')
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as any).code).toBe('invalid_api_key')
  })

  it('rolls a key with a grace period: old and new keys both work, and the new one is shown once', async () => {
    await ui.button('Create key').click()
    const form = ui.dialog('Create key')
    await form.getByRole('textbox', { name: 'Name', exact: true }).fill('rolling key')
    await ui.button('Create', form).click()
    const first = ui.dialog(/New key/)
    const oldKey = await first.getByRole('textbox', { name: 'New key' }).inputValue()
    await ui.button('Done', first).click()

    await ui.button('Roll', ui.rows('API keys', /rolling key/).first()).click()
    const confirm = ui.dialog(/Roll rolling key/)
    await confirm.getByRole('combobox', { name: 'Grace period' }).selectOption({ label: '1 hour' })
    expect(await ui.audit('11-roll-key')).toEqual([])
    await ui.button('Roll key', confirm).click()
    const second = ui.dialog(/New key/)
    const newKey = await second.getByRole('textbox', { name: 'New key' }).inputValue()
    expect(newKey).toMatch(/^sk_live_/)
    expect(newKey).not.toBe(oldKey)
    expect(await second.innerText()).toContain('you will not see it again')
    await ui.button('Done', second).click()

    expect((await withKey(oldKey, '/v1/me')).status).toBe(200)
    expect((await withKey(newKey, '/v1/me')).status).toBe(200)
    expect(await ui.page.getByRole('status').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/old key keeps working until/)]))
    expect(await ui.rows('API keys', /rolling key/).count()).toBe(2)
  })

  it('registers a webhook, shows its secret once, logs a failed delivery and retries it', async () => {
    await ui.goTo('Webhooks')
    await ui.page.getByText('No endpoint yet.').waitFor()
    expect(await ui.audit('12-webhooks-empty')).toEqual([])
    await ui.button('Add endpoint').click()
    const form = ui.dialog('Add endpoint')
    await form.getByRole('textbox', { name: 'URL', exact: true }).fill(receiver.url)
    await form.getByRole('group', { name: 'Events' }).getByRole('checkbox', { name: 'webhook.test' }).waitFor()
    await form.getByRole('checkbox', { name: 'All events', exact: true }).check()
    expect(await ui.audit('13-add-endpoint')).toEqual([])
    await ui.button('Add', form).click()
    const shown = ui.dialog('Endpoint added')
    const secret = await shown.getByRole('textbox', { name: 'Signing secret' }).inputValue()
    expect(secret).toMatch(/^whsec_/)
    expect(await shown.innerText()).toContain('you will not see it again')
    await ui.button('Done', shown).click()
    expect(await ui.readableByScript()).not.toContain(secret)

    await ui.rows('Webhook endpoints', new RegExp(receiver.url.replace(/[.]/g, '\\.'))).getByRole('link').click()
    await ui.heading('Webhook endpoint').waitFor()
    receiver.answerWith(500)
    await ui.button('Send test').click()
    const failed = ui.rows('Delivery log', /webhook\.test.*failed/)
    await failed.first().waitFor({ timeout: 15_000 })
    const cells = await ui.cells(failed.first())
    // Event, attempt, status, response status, duration, time, error, actions.
    expect(cells.slice(1, 4)).toEqual(['1', 'failed', '500'])
    expect(cells[4]).toMatch(/^\d+ ms$/)
    expect(receiver.deliveries.length).toBeGreaterThan(0)
    expect(receiver.deliveries[0]!.headers['webhook-signature']).toMatch(/^v1,/)
    expect(await ui.audit('14-endpoint-failed-delivery')).toEqual([])

    receiver.answerWith(200)
    await ui.button('Retry', failed.first()).click()
    await eventually(async () => expect(await ui.page.getByRole('status').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/queued again/)])))
    await ui.rows('Delivery log', /webhook\.test.*succeeded.*200/).first().waitFor({ timeout: 15_000 })

    await ui.button('Disable').click()
    await ui.button('Enable').waitFor()
    await ui.button('Enable').click()
    await ui.button('Disable').waitFor()
    await ui.button('Rotate secret').click()
    const rotate = ui.dialog(/Rotate the signing secret/)
    await ui.button('Rotate now', rotate).click()
    const rotated = await ui.dialog('New signing secret').getByRole('textbox', { name: 'Signing secret' }).inputValue()
    expect(rotated).toMatch(/^whsec_/)
    expect(rotated).not.toBe(secret)
    await ui.button('Done', ui.dialog('New signing secret')).click()
    expect(await ui.audit('15-endpoint')).toEqual([])
  })

  it('shows users, revokes a user’s tokens, and reads a conversation oldest first with older pages on demand', async () => {
    const tenantKey = made.liveKey
    for (const id of ['alice', 'bob']) expect((await withKey(tenantKey, '/v1/users', { method: 'POST', body: JSON.stringify({ id, displayName: id.toUpperCase() }) })).status).toBe(201)
    const conversation = (await (await withKey(tenantKey, '/v1/conversations', { method: 'POST', body: JSON.stringify({ type: 'group', name: 'Launch plan', members: ['alice', 'bob'] }) })).json()) as any
    for (let i = 1; i <= 55; i++) {
      const sent = await t.call('POST', `/v1/conversations/${conversation.id}/messages`, { auth: tenantKey, body: { text: `message ${i}`, senderId: i % 2 ? 'alice' : 'bob' } })
      expect(sent.status).toBe(201)
    }
    const token = (await (await withKey(tenantKey, '/v1/auth/token', { method: 'POST', body: JSON.stringify({ userId: 'alice' }) })).json()) as any

    await ui.goTo('Users')
    await ui.rows('Users', /alice/).waitFor()
    expect(await ui.audit('16-users')).toEqual([])
    await ui.page.getByRole('textbox', { name: 'User id' }).fill('alice')
    await ui.button('Find user').click()
    await ui.heading('User alice').waitFor()
    await ui.rows('Conversations of alice', /Launch plan/).waitFor()
    expect(await ui.audit('17-user')).toEqual([])
    expect((await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token.token}` } })).status).toBe(200)
    await ui.button('Revoke tokens').click()
    await eventually(async () => expect(await ui.page.getByRole('status').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/session token of alice/)])))
    const afterRevoke = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token.token}` } })
    expect(afterRevoke.status).toBe(401)

    await ui.goTo('Conversations')
    await ui.rows('Conversations', /Launch plan/).getByRole('link', { name: 'Launch plan' }).click()
    await ui.heading('Conversation Launch plan').waitFor()
    const messages = ui.page.getByRole('list', { name: 'Messages' }).getByRole('listitem')
    await eventually(async () => expect(await messages.count()).toBe(50))
    expect(await messages.first().innerText()).toContain('message 6')
    expect(await messages.last().innerText()).toContain('message 55')
    expect(await ui.audit('18-conversation')).toEqual([])
    await ui.button('Load older messages').click()
    await eventually(async () => expect(await messages.count()).toBe(55))
    expect(await messages.first().innerText()).toContain('message 1')
    expect(await ui.button('Load older messages').count()).toBe(0)
    await ui.goTo('Conversations')
    expect(await ui.audit('19-conversations')).toEqual([])
  })

  it('shows the Push page, configured or not', async () => {
    await ui.goTo('Push')
    await ui.page.getByRole('heading', { name: 'APNs (iOS)' }).or(ui.page.getByText('Push notifications are not available on this server.')).waitFor()
    expect(await ui.page.getByRole('alert').count()).toBe(0)
    if (await ui.page.getByRole('heading', { name: 'Web Push (browsers)' }).count()) {
      // Web Push needs only a subject: Parley makes the VAPID key pair and shows the public key.
      await ui.page.getByRole('textbox', { name: 'Subject', exact: true }).fill('mailto:ops@example.com')
      await ui.button('Save Web Push').click()
      const publicKey = ui.page.getByRole('textbox', { name: 'VAPID public key' })
      await publicKey.waitFor()
      expect(await publicKey.inputValue()).toMatch(/^[A-Za-z0-9_-]{40,}$/)
      await ui.button('Remove Web Push').waitFor()
    }
    expect(await ui.audit('20-push')).toEqual([])
  })

  it('switches to Test and shows none of the live data; the URL keeps the view', async () => {
    await ui.goTo('API keys')
    await ui.rows('API keys', /rolling key/).first().waitFor()
    await ui.page.getByRole('radiogroup', { name: 'Environment' }).getByRole('radio', { name: 'Test', exact: true }).check()
    await eventually(async () => expect(await ui.table('API keys').innerText()).toContain('sk_test_'))
    const keys = await ui.table('API keys').innerText()
    expect(keys).not.toContain('rolling key')
    expect(keys).not.toContain('billing backend')
    expect(keys).not.toContain('sk_live_')
    expect(ui.page.url()).toContain('env=test')
    expect(await ui.audit('21-keys-test')).toEqual([])

    // A bookmark of this view opens it again.
    await ui.page.reload()
    await ui.heading('API keys').waitFor()
    expect(await ui.page.getByRole('radio', { name: 'Test', exact: true }).isChecked()).toBe(true)
    await ui.table('API keys').waitFor()
    expect(await ui.table('API keys').innerText()).not.toContain('rolling key')

    await ui.goTo('Webhooks')
    await ui.page.getByText('No endpoint yet.').waitFor()
    await ui.goTo('Users')
    await ui.page.getByText('No user yet.').waitFor()
    await ui.goTo('Usage')
    await ui.page.getByRole('img', { name: 'Requests' }).waitFor()
    expect(await ui.page.getByRole('table', { name: 'Requests per key' }).count()).toBe(0)
  })

  it('is usable 375 px wide', async () => {
    const narrow = new Console(await openTab(browser, url, { width: 375 }), url)
    await narrow.open(`#/keys?tenant=${made.tenantId}&env=live`)
    await narrow.signIn(t.adminKey)
    await narrow.heading('API keys').waitFor()
    await narrow.rows('API keys', /rolling key/).first().waitFor()
    expect(await narrow.overflowing()).toEqual([])
    expect(await narrow.audit('22-keys-375px')).toEqual([])
    await narrow.goTo('Usage')
    await narrow.page.getByRole('img', { name: 'Requests' }).waitFor()
    expect(await narrow.overflowing()).toEqual([])
    expect(await narrow.audit('23-usage-375px')).toEqual([])
    await narrow.tab.context.close()
  })

  it('signs out: the session is refused afterwards, in the page and with its cookie', async () => {
    const cookie = (await ui.tab.context.cookies()).find((candidate) => candidate.name === 'parley_dashboard')!
    await ui.button('Sign out').click()
    await ui.apiKeyField().waitFor()
    expect(await ui.page.evaluate(async () => (await fetch('/v1/dashboard/session')).status)).toBe(401)
    const replayed = await fetch(`${url}/v1/keys`, { headers: { cookie: `parley_dashboard=${cookie.value}`, 'x-tenant-id': made.tenantId, 'x-environment': 'live' } })
    expect(replayed.status).toBe(401)
    expect(await ui.readableByScript()).not.toContain(t.adminKey)
  })

  it('had no page error, no CSP violation, and no serious or critical axe violation on any page', () => {
    expect(ui.tab.errors).toEqual([])
    expect(ui.audits.length).toBeGreaterThanOrEqual(15)
    expect(ui.audits.filter((audit) => audit.violations.length > 0)).toEqual([])
  })
})

