/**
 * Driving the dashboard in headless Chromium (playwright-core on Debian's /usr/bin/chromium):
 * pages that record their errors (a Content-Security-Policy violation is one), an axe-core scan,
 * screenshots for reviewers, and polling for what the page shows.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { type Browser, type BrowserContext, type Locator, type Page, chromium } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-output')

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
}

export interface Tab {
  context: BrowserContext
  page: Page
  /** Uncaught exceptions and console errors (Chromium logs CSP violations as console errors). */
  errors: string[]
}

/**
 * A fresh browser context (its own cookies) with one page. The page's CSP is enforced: axe is
 * injected through the DevTools protocol (page.evaluate), which the CSP does not govern.
 */
export async function openTab(browser: Browser, url: string, options: { width?: number } = {}): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 } })
  // Fail a step well within the test's own timeout, naming what was awaited.
  context.setDefaultTimeout(15_000)
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  page.on('console', (message) => {
    // A 401/404 the page expects (signed out, push not built) is logged by Chromium as a failed resource: not a page error.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(`console: ${message.text()}`)
  })
  return { context, page, errors }
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: string[]
}

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as any).axe === 'object')
  if (!loaded) await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n: any) => n.target.join(' ')) }))
  })
  return (violations as AxeViolation[]).filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
}

/** A full-page screenshot in test-output/ (git-ignored), for a reviewer to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Retries `check` (an assertion) until it passes or `timeoutMs` runs out, then throws its last error. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(intervalMs)
    }
  }
}

/** The text of a locator once it shows up. */
export async function textOf(locator: Locator): Promise<string> {
  await locator.waitFor()
  return (await locator.innerText()).trim()
}
