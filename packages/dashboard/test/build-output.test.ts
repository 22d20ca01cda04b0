/**
 * What the build leaves in dist/ must run under the server's Content-Security-Policy
 * (script-src 'self'; style-src 'self') and offline: index.html has no inline script, style
 * element, style attribute or event-handler attribute, and loads nothing from another origin;
 * the stylesheet imports nothing from outside either.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const DIST = join(import.meta.dirname, '..', 'dist')
const required = process.env.PARLEY_TEST_REQUIRE_SERVICES === '1'

describe.runIf(existsSync(join(DIST, 'index.html')) || required)('the built dashboard', () => {
  const html = () => readFileSync(join(DIST, 'index.html'), 'utf8')
  const assets = () => readdirSync(join(DIST, 'assets'))

  it('has no inline script or style in index.html', () => {
    const page = html()
    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/dashboard\/assets\/[^"]+\.js"/)
      expect(body!.trim()).toBe('')
    }
    expect(page).not.toMatch(/<style\b/i)
    expect(page).not.toMatch(/\sstyle=/i)
    expect(page).not.toMatch(/\son[a-z]+=/i)
  })

  it('loads everything from /dashboard/ (no CDN)', () => {
    const urls = [...html().matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
    expect(urls.length).toBeGreaterThan(0)
    for (const url of urls) expect(url.startsWith('/dashboard/') || url.startsWith('data:')).toBe(true)
    for (const css of assets().filter((name) => name.endsWith('.css'))) {
      const text = readFileSync(join(DIST, 'assets', css), 'utf8')
      expect(text).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//i)
    }
  })

  it('ships one stylesheet and hashed script names (immutable caching is safe)', () => {
    expect(assets().filter((name) => name.endsWith('.css'))).toHaveLength(1)
    for (const script of assets().filter((name) => name.endsWith('.js'))) expect(script).toMatch(/-[\w-]{8}\.js$/)
  })
})
