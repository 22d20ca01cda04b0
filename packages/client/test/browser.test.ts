/**
 * The browser end to end: docs/client.md's chat page as written, served with the built SDK bundle
 * (dist/parley-client.min.js, the `browser` field) and the quickstart's session route
 * (docs/examples/session-route.mjs, the demo user taken from the page's cookie), opened by two
 * users in headless Chromium (playwright-core driving Debian's /usr/bin/chromium). They exchange
 * messages live, see each other typing and the unread count change; then one page goes offline
 * while the other keeps sending, comes back, and shows every message once, in order.
 * With PARLEY_TEST_REQUIRE_SERVICES=1 (CI) a missing Chromium fails the suite instead of skipping it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { type Server, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { freePort } from '../../server/test/helpers/processes.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import { sleep } from './helpers/clients.js'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const CHROMIUM = '/usr/bin/chromium'
const BUNDLE = join(ROOT, 'packages', 'client', JSON.parse(readFileSync(join(ROOT, 'packages', 'client', 'package.json'), 'utf8')).browser)
const required = process.env.PARLEY_TEST_REQUIRE_SERVICES === '1'

/** The page of docs/client.md marked `<!-- doc-test: browser-page … -->`. */
function chatPage(): string {
  const text = readFileSync(join(ROOT, 'docs', 'client.md'), 'utf8')
  const page = /<!-- doc-test: browser-page[^>]*-->\n```html\n([\s\S]*?)\n```/.exec(text)?.[1]
  if (!page) throw new Error('docs/client.md has no page marked doc-test: browser-page')
  return page
}

describe.runIf(existsSync(CHROMIUM) || required)('the chat page of docs/client.md in Chromium, two users', () => {
  let t: TestParley
  let world: ChatWorld
  let sessionRoute: ChildProcess
  let site: Server
  let siteUrl: string
  let browser: Browser
  /** Each user's context and page, the page's uncaught errors, and its console errors (to explain a failure). */
  const pages: Record<string, { context: BrowserContext; page: Page; uncaught: string[]; console: string[] }> = {}

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`PARLEY_TEST_REQUIRE_SERVICES=1 but ${CHROMIUM} is missing: apt-get install -y chromium`)
    if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build`)
    let url: string
    ;({ t, world, url } = await listeningWorld())
    // Registered by the backend, as in the quickstart's step 3.
    await world.users('alice', 'bob')

    // The quickstart's session route, as its docs start it.
    const sessionPort = await freePort()
    sessionRoute = spawn(process.execPath, [join(ROOT, 'docs', 'examples', 'session-route.mjs')], {
      env: { ...process.env, PARLEY_URL: url, PARLEY_SECRET_KEY: world.key, PORT: String(sessionPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    await new Promise((resolve) => sessionRoute.stdout!.once('data', resolve))

    // The app's own site: the page, the SDK bundle, and /parley-session passed to the session
    // route with the signed-in user taken from the page's cookie.
    const page = chatPage().replaceAll('http://localhost:8080', url)
    const bundle = readFileSync(BUNDLE)
    site = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.startsWith('/?')) return void res.writeHead(200, { 'content-type': 'text/html' }).end(page)
      if (req.method === 'GET' && req.url === '/parley-client.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      if (req.method === 'POST' && req.url === '/parley-session') {
        const user = /demo-user=(\w+)/.exec(req.headers.cookie ?? '')?.[1] ?? ''
        const forward = request(`http://127.0.0.1:${sessionPort}/parley-session`, { method: 'POST', headers: { 'x-demo-user': user } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' })
          answer.pipe(res)
        })
        forward.on('error', () => res.writeHead(502).end())
        return void forward.end()
      }
      res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end()
    })
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    site?.close()
    sessionRoute?.kill()
    await t?.close()
  })

  async function open(user: string, peer: string): Promise<Page> {
    const context = await browser.newContext()
    await context.addCookies([{ name: 'demo-user', value: user, url: siteUrl }])
    const page = await context.newPage()
    const uncaught: string[] = []
    const consoleErrors: string[] = []
    page.on('pageerror', (error) => uncaught.push(String(error)))
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()))
    pages[user] = { context, page, uncaught, console: consoleErrors }
    await page.goto(`${siteUrl}/?with=${peer}`)
    await expectText(page, '#state', 'open').catch((error) => {
      throw new Error(`${error.message}; page errors: ${[...uncaught, ...consoleErrors].join(' | ')}`)
    })
    return page
  }

  const textOf = (page: Page, selector: string) => page.locator(selector).textContent()
  const messagesOf = (page: Page) => page.locator('#messages li').allTextContents()

  async function expectText(page: Page, selector: string, expected: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while ((await textOf(page, selector)) !== expected) {
      if (Date.now() > deadline) throw new Error(`${selector} shows ${JSON.stringify(await textOf(page, selector))}, not ${JSON.stringify(expected)}`)
      await sleep(50)
    }
  }

  async function expectMessages(page: Page, expected: string[], timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while ((await messagesOf(page)).length < expected.length && Date.now() < deadline) await sleep(50)
    await sleep(200)
    expect(await messagesOf(page)).toEqual(expected)
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#text', text)
    await page.press('#text', 'Enter')
  }

  it('exchange messages live, with typing and unread counts, and lose nothing offline', async () => {
    const alice = await open('alice', 'bob')
    const bob = await open('bob', 'alice')

    await alice.fill('#text', 'Hel')
    await expectText(bob, '#typing', 'alice is typing…')
    await alice.press('#text', 'Enter')
    await expectMessages(bob, ['alice: Hel'])
    await expectText(bob, '#typing', '')
    await expectText(bob, '#unread', '1')

    await bob.focus('#text')
    await expectText(bob, '#unread', '0')
    await say(bob, 'Hi Alice')
    await expectMessages(alice, ['alice: Hel', 'bob: Hi Alice'])
    await expectText(alice, '#unread', '1')

    // Bob's network goes; the socket Chromium keeps open is found dead by the client's ping.
    await pages.bob!.context.setOffline(true)
    await expectText(bob, '#state', 'reconnecting', 15_000)
    const whileAway = ['one', 'two', 'three', 'four', 'five']
    for (const text of whileAway) await say(alice, text)
    await pages.bob!.context.setOffline(false)
    await expectText(bob, '#state', 'open', 10_000)
    const all = ['alice: Hel', 'bob: Hi Alice', ...whileAway.map((text) => `alice: ${text}`)]
    await expectMessages(bob, all)
    await expectMessages(alice, all)
    await expectText(bob, '#unread', '5')

    expect(pages.alice!.uncaught).toEqual([])
    expect(pages.bob!.uncaught).toEqual([])
    const stored = await world.secret('GET', `/v1/conversations?userId=bob`)
    expect(stored.body.data[0].lastSeq).toBe(all.length)
  }, 90_000)
})
