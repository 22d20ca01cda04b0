/**
 * The dashboard signed in with a tenant's secret key (not the admin key): it sees its own tenant
 * and environment only, whatever the URL asks for; the other environment is shown as unavailable;
 * the key is kept nowhere a script can read; and revoking the key ends the session at its next
 * request. Real Parley, headless Chromium, roles and accessible names only (see operator.test.ts).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from '../../server/test/helpers/parley.js'
import { CHROMIUM, eventually, launch, openTab } from './helpers/browser.js'
import { Console } from './helpers/console.js'

const DIST_INDEX = join(import.meta.dirname, '..', 'dist', 'index.html')
const required = process.env.PARLEY_TEST_REQUIRE_SERVICES === '1'

describe.runIf(existsSync(CHROMIUM) || required)('the dashboard, signed in with a tenant secret key', () => {
  let t: TestParley
  let url: string
  let browser: Browser
  let mine: TestTenant
  let other: TestTenant

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`PARLEY_TEST_REQUIRE_SERVICES=1 but ${CHROMIUM} is missing: apt-get install -y chromium`)
    if (!existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} is missing: run npm run build --workspace @parley/dashboard`)
    t = await startParley()
    url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    mine = await t.createTenant()
    other = await t.createTenant()
    // Something of each tenant to tell them apart.
    for (const [tenant, name] of [
      [mine, 'mine-backend'],
      [other, 'other-backend'],
    ] as const) {
      const created = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name, type: 'secret' } })
      expect(created.status).toBe(201)
    }
    browser = await launch()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('shows its own tenant and environment only, and keeps the key nowhere', async () => {
    const ui = new Console(await openTab(browser, url), url)
    // A bookmark naming the other tenant and the test environment does not leave the session's own.
    await ui.open(`#/keys?tenant=${other.id}&env=test`)
    await ui.signIn(mine.liveKey)
    await ui.heading('API keys').waitFor()

    const links = await ui.nav().getByRole('link').allInnerTexts()
    expect(links).toEqual(['API keys', 'Usage', 'Users', 'Conversations', 'Webhooks', 'Push'])
    expect(await ui.page.getByRole('combobox', { name: 'Tenant' }).count()).toBe(0)

    const environment = ui.page.getByRole('radiogroup', { name: 'Environment' })
    expect(await environment.getByRole('radio', { name: 'Live', exact: true }).isChecked()).toBe(true)
    const test = environment.getByRole('radio', { name: 'Test', exact: true })
    expect(await test.isDisabled()).toBe(true)
    // The reason is the radio's description.
    const why = await test.getAttribute('aria-describedby')
    expect(await ui.page.locator(`[id="${why}"]`).innerText()).toMatch(/live key.*sign in with a test key/i)

    await ui.rows('API keys', /mine-backend/).waitFor()
    const table = await ui.table('API keys').innerText()
    expect(table).not.toContain('other-backend')
    expect(table).not.toContain('sk_test_')

    const readable = await ui.readableByScript()
    expect(readable).not.toContain(mine.liveKey)
    expect(await ui.page.evaluate(() => document.cookie)).not.toContain('parley_dashboard')
    expect(await ui.audit('30-tenant-session-keys')).toEqual([])

    await ui.goTo('Usage')
    await ui.page.getByRole('img', { name: 'Requests' }).waitFor()
    await ui.goTo('Webhooks')
    await ui.page.getByText('No endpoint yet.').waitFor()
    expect(await ui.audit('31-tenant-session-webhooks')).toEqual([])
    expect(ui.tab.errors).toEqual([])
    expect(ui.audits.filter((audit) => audit.violations.length > 0)).toEqual([])
    await ui.tab.context.close()
  })

  it('ends the session when its key is revoked', async () => {
    const created = await t.call('POST', '/v1/keys', { auth: mine.liveKey, body: { name: 'short-lived', type: 'secret' } })
    const ui = new Console(await openTab(browser, url), url)
    await ui.open()
    await ui.signIn(created.body.key)
    await ui.heading('API keys').waitFor()

    const revoked = await t.call('POST', `/v1/keys/${created.body.id}/revoke`, { auth: mine.liveKey })
    expect(revoked.status).toBe(200)
    await ui.goTo('Users').catch(() => undefined)
    await ui.apiKeyField().waitFor()
    await eventually(async () => expect(await ui.page.getByRole('status').allInnerTexts()).toContain('Your session has ended. Sign in again.'))
    await ui.tab.context.close()
  })
})
