/**
 * GET /dashboard: the web console's built files (packages/dashboard, built into its dist/ by
 * `npm install`), served by this process. They are few and small, so they are read into memory
 * once at start-up (gzipped too, for clients that take it): a request never touches the disk, and
 * only files that were in the directory can ever be served.
 *
 * Every answer carries a strict Content-Security-Policy (no inline script or style, nothing from
 * another origin, no framing). Hashed assets (/dashboard/assets/…) are cached for a year;
 * everything else, index.html first, is revalidated on each use (ETag). A path without a file
 * extension is a page of the single-page app: it gets index.html.
 */
import { createHash } from 'node:crypto'
import { type Dirent, readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../core/errors.js'

export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

const IMMUTABLE = 'public, max-age=31536000, immutable'
const REVALIDATE = 'no-cache'
/** Refuse to load a directory this large: PARLEY_DASHBOARD_DIR pointing at the wrong place. */
const MAX_FILES = 2000
const MAX_BYTES = 64 * 1024 * 1024

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
}
/** Worth gzipping: text. */
const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/

interface Asset {
  body: Buffer
  gzipped: Buffer | null
  type: string
  etag: string
  cacheControl: string
}

/** The built dashboard in memory, by path below /dashboard/ (`index.html`, `assets/index-3f2a.js`), or null when not built. */
export type DashboardFiles = ReadonlyMap<string, Asset> | null

/** Where the built dashboard is: the @parley/dashboard package's dist/, wherever npm put it. */
export function defaultDashboardDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@parley/dashboard/package.json')), 'dist')
  } catch {
    // Not resolvable as a package: its folder beside this one in the repository (src/dashboard/
    // and dist/dashboard/ both sit two levels below packages/server/).
    return fileURLToPath(new URL('../../../dashboard/dist', import.meta.url))
  }
}

/** Reads the built files; null when there is no index.html (not built). */
export function loadDashboard(dir: string): DashboardFiles {
  const files = new Map<string, Asset>()
  let total = 0
  const walk = (folder: string, prefix: string) => {
    let entries: Dirent[]
    try {
      entries = readdirSync(folder, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      // Only plain files and folders: no dotfiles, and no symbolic link leading out of the directory.
      if (entry.name.startsWith('.')) continue
      const path = join(folder, entry.name)
      if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`)
      if (!entry.isFile()) continue
      const body = readFileSync(path)
      total += body.length
      if (files.size >= MAX_FILES || total > MAX_BYTES) {
        throw new Error(`The dashboard directory ${dir} holds more than ${MAX_FILES} files or ${MAX_BYTES / 1024 / 1024} MiB: is PARLEY_DASHBOARD_DIR right?`)
      }
      files.set(`${prefix}${entry.name}`, asset(`${prefix}${entry.name}`, body))
    }
  }
  walk(dir, '')
  return files.has('index.html') ? files : null
}

function asset(path: string, body: Buffer): Asset {
  const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
  const gzipped = COMPRESSIBLE.test(type) && body.length > 1024 ? gzipSync(body, { level: 9 }) : null
  return {
    body,
    gzipped: gzipped && gzipped.length < body.length ? gzipped : null,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    // Vite names what it builds under assets/ by content hash: a changed file is a new URL.
    cacheControl: path.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
  }
}

const NOT_BUILT = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Parley dashboard: not built</title></head>
<body>
<h1>The dashboard is not built</h1>
<p>This Parley has no built dashboard to serve. Run <code>npm run build</code> (or <code>npm install</code>) in the Parley
repository, or point <code>PARLEY_DASHBOARD_DIR</code> at a built one, then restart Parley. The API works meanwhile.</p>
</body>
</html>
`

export const dashboardAssets: FastifyPluginAsync<{ files: DashboardFiles }> = async (app, { files }) => {
  // Every answer under /dashboard, errors included, carries the page policy.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers(SECURITY_HEADERS)
    done(null, payload)
  })

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    if (files === null) return reply.status(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT)
    const path = (request.params as { '*'?: string })['*'] ?? ''
    const found = files.get(path) ?? (isPage(path) ? files.get('index.html') : undefined)
    if (!found) throw new ApiError('not_found', `No file /dashboard/${path}`)
    // Each encoding is its own representation, with its own ETag.
    const gzip = found.gzipped !== null && acceptsGzip(request)
    const etag = gzip ? `${found.etag.slice(0, -1)}-gz"` : found.etag
    reply.header('etag', etag).header('cache-control', found.cacheControl).header('vary', 'Accept-Encoding').type(found.type)
    if (request.headers['if-none-match'] === etag) return reply.status(304).send()
    if (gzip) return reply.header('content-encoding', 'gzip').send(found.gzipped)
    return reply.send(found.body)
  }

  app.get('/dashboard', { schema: { hide: true } }, serve)
  app.get('/dashboard/*', { schema: { hide: true } }, serve)
}

/** A route of the single-page app (no file extension in its last segment), not a missing file. */
const isPage = (path: string): boolean => !/\.[A-Za-z0-9]+$/.test(path.split('/').at(-1) ?? '')

/** Accept-Encoding lists gzip (and not with q=0). */
function acceptsGzip(request: FastifyRequest): boolean {
  return String(request.headers['accept-encoding'] ?? '')
    .split(',')
    .some((part) => {
      const [coding, ...params] = part.split(';').map((p) => p.trim().toLowerCase())
      return coding === 'gzip' && !params.some((p) => /^q=0(\.0*)?$/.test(p))
    })
}
