/**
 * The dashboard as a person uses it, found only by roles and accessible names: sign in, follow a
 * navigation link, work in a dialog, read a table row. Plus the checks every page gets (axe, a
 * screenshot, no page error) and a look at everything script can read (storage, cookies, DOM).
 */
import type { Locator, Page } from 'playwright-core'
import { type AxeViolation, type Tab, screenshot, seriousViolations } from './browser.js'

export class Console {
  /** Every page audited so far, with its serious or critical axe violations. */
  readonly audits: { name: string; violations: AxeViolation[] }[] = []

  constructor(
    readonly tab: Tab,
    readonly url: string,
  ) {}

  get page(): Page {
    return this.tab.page
  }

  async open(hash = ''): Promise<void> {
    await this.page.goto(`${this.url}/dashboard/${hash}`)
  }

  apiKeyField(): Locator {
    return this.page.getByRole('textbox', { name: 'API key', exact: true })
  }

  async signIn(key: string): Promise<void> {
    await this.apiKeyField().fill(key)
    await this.page.getByRole('button', { name: 'Sign in', exact: true }).click()
  }

  nav(): Locator {
    return this.page.getByRole('navigation', { name: 'Dashboard' })
  }

  async goTo(link: string): Promise<void> {
    await this.nav().getByRole('link', { name: link, exact: true }).click()
    await this.heading(link === 'API keys' ? 'API keys' : link).waitFor()
  }

  heading(name: string | RegExp): Locator {
    return this.page.getByRole('heading', { level: 1, name, exact: typeof name === 'string' })
  }

  button(name: string, within: Page | Locator = this.page): Locator {
    return within.getByRole('button', { name, exact: true })
  }

  dialog(name?: string | RegExp): Locator {
    return this.page.getByRole('dialog', name === undefined ? {} : { name })
  }

  table(name: string): Locator {
    return this.page.getByRole('table', { name, exact: true })
  }

  /** The rows of a table whose accessible name (its cells' text) matches. */
  rows(table: string, name: string | RegExp): Locator {
    return this.table(table).getByRole('row', { name })
  }

  /** The cells of a row as text (data cells and the row header). */
  async cells(row: Locator): Promise<string[]> {
    return row.evaluate((element) => Array.from(element.children).map((cell) => (cell as HTMLElement).innerText.trim()))
  }

  /** An axe scan and a screenshot of the page as it is, under `name`. */
  async audit(name: string): Promise<AxeViolation[]> {
    // Let the page settle (loading states replaced by content) before judging it.
    await this.page.waitForLoadState('networkidle').catch(() => undefined)
    const violations = await seriousViolations(this.page)
    this.audits.push({ name, violations })
    await screenshot(this.page, name)
    return violations
  }

  /**
   * The elements sticking out past the right edge of the window (nothing should at 375 px:
   * wide tables scroll inside their own region, whose overflow is clipped).
   */
  async overflowing(): Promise<string[]> {
    return this.page.evaluate(() => {
      const width = document.documentElement.clientWidth
      const clipped = (element: Element) => {
        for (let e = element.parentElement; e; e = e.parentElement) if (getComputedStyle(e).overflowX !== 'visible') return true
        return false
      }
      return Array.from(document.querySelectorAll('body *'))
        .filter((element) => element.getBoundingClientRect().right > width + 1 && !clipped(element))
        .map((element) => `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}.${element.className} (${Math.round(element.getBoundingClientRect().right)} px)`)
    })
  }

  /** Everything a script on the page can read that a key could hide in. */
  async readableByScript(): Promise<string> {
    return this.page.evaluate(() => {
      const storage = (store: Storage) => Array.from({ length: store.length }, (_, i) => `${store.key(i)}=${store.getItem(store.key(i)!)}`).join('\n')
      const values = Array.from(document.querySelectorAll('input, textarea')).map((field) => (field as HTMLInputElement).value)
      return [storage(localStorage), storage(sessionStorage), document.cookie, location.href, document.documentElement.outerHTML, ...values].join('\n')
    })
  }
}
