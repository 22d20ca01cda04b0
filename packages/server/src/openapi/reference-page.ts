/**
 * A dependency-free HTML rendering of the OpenAPI document: one section per tag, one card per
 * operation with its id, the credentials it takes and every error code it can answer.
 */
import { ERROR_CODES } from '../core/errors.js'
import type { Document, Operation } from './document.js'
import type { SecurityRequirement } from './security.js'

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** GET /docs/errors: every error code, with the anchor problem `type` URIs point at. */
export function renderErrors(): string {
  const rows = Object.entries(ERROR_CODES)
    .map(([code, { status, when }]) => `<tr id="${code}"><td><code>${code}</code></td><td>${status}</td><td>${escape(when)}</td></tr>`)
    .join('')
  return page(
    'Parley error codes',
    `<h1>Error codes</h1><p>Every error is <code>application/problem+json</code> with a stable <code>code</code>; validation errors add <code>errors[]</code> with each <code>param</code>.</p>
<table><thead><tr><th>code</th><th>status</th><th>when</th></tr></thead><tbody>${rows}</tbody></table>`,
  )
}

export function renderReference(doc: Document): string {
  const byTag = new Map<string, string[]>()
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'Other'
      const params = (op.parameters ?? []).map((p) => `<li><code>${escape(p.name)}</code> (${p.in}${p.required ? ', required' : ''})</li>`)
      const body = op.requestBody?.content?.['application/json']
      const card = `<section class="op"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code> <code class="id">${escape(op.operationId ?? '')}</code></h3>
<p>${escape(op.summary ?? '')}</p><p class="auth">Credentials: ${credentials(op.security ?? [], signsIn(op)).join(' · ')}</p>${params.length ? `<ul>${params.join('')}</ul>` : ''}
${body ? `<details><summary>Request body</summary><pre>${escape(JSON.stringify(body.schema, null, 2))}</pre></details>` : ''}
${body?.example ? `<details><summary>Example</summary><pre>${escape(JSON.stringify(body.example, null, 2))}</pre></details>` : ''}
<p class="st">Responses: ${responses(op)}</p></section>`
      byTag.set(tag, [...(byTag.get(tag) ?? []), card])
    }
  }
  const nav = [...byTag.keys()].map((t) => `<a href="#${escape(t)}">${escape(t)}</a>`).join(' · ')
  const sections = [...byTag].map(([tag, cards]) => `<h2 id="${escape(tag)}">${escape(tag)}</h2>${cards.join('')}`).join('')
  return page(
    `${doc.info.title} reference`,
    `<h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1><p>${escape(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors: <a href="/docs/errors">/docs/errors</a>. ${nav}</p>${sections}`,
  )
}

/** The operation's security requirements in words: one entry per credential, with the scope it needs. */
function credentials(requirements: SecurityRequirement[], signsIn = false): string[] {
  const withScope = (what: string, scopes: string[] | undefined) => (scopes?.length ? `${what} with <code>${escape(scopes.join(' '))}</code>` : what)
  const takesSecret = requirements.some((r) => r.secretKey)
  const words = requirements.map((r) => {
    if (r.secretKey) return withScope('secret key', r.secretKey)
    if (r.sessionToken) return withScope('session token (user or visitor)', r.sessionToken)
    if (r.publishableKey) return 'publishable key in <code>x-api-key</code>'
    if (r.adminKey) return takesSecret ? 'admin key acting on a tenant (<code>x-tenant-id</code>, <code>x-environment</code>)' : 'admin key'
    if (r.secretKeyHeader) return null // the secret key again, in x-api-key
    if (r.codeHostSignature) return 'a code host’s signature (<code>Github-Public-Key-Identifier</code>, <code>Github-Public-Key-Signature</code>)'
    if (r.dashboardSession) return 'the dashboard session cookie (<code>parley_dashboard</code>)'
    if (signsIn) return 'the admin key or a secret key in the <code>key</code> body field'
    return 'publishable key in the <code>apiKey</code> body field'
  })
  return words.filter((word): word is string => word !== null)
}

/** The dashboard sign-in: a body `key` is the credential (an empty requirement, as no OpenAPI scheme sits in a body). */
function signsIn(op: Operation): boolean {
  const schema = op.requestBody?.content?.['application/json']?.schema as { properties?: Record<string, unknown> } | undefined
  return schema?.properties?.key !== undefined
}

/** Each status, and for errors the codes it carries, linked to /docs/errors. */
function responses(op: Operation): string {
  return Object.entries(op.responses ?? {})
    .map(([status, response]) => {
      const problem = response.content?.['application/problem+json']?.schema as { properties?: { code?: { enum?: string[] } } } | undefined
      const codes = (problem?.properties?.code?.enum ?? []).map((code) => `<a href="/docs/errors#${code}">${code}</a>`)
      return `<code>${status}</code>${codes.length ? ` ${codes.join(', ')}` : ''}`
    })
    .join(' · ')
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d2330}
.op{border:1px solid #dde1ea;border-radius:8px;padding:.5rem 1rem;margin:.75rem 0}h3{margin:.25rem 0;font-size:1rem}
.m{display:inline-block;min-width:4.5em;font-weight:700}.id{color:#556;font-size:.85em}.auth{margin:.25rem 0}.get{color:#0a7}.post{color:#06c}.patch{color:#a60}.put{color:#a60}.delete{color:#c22}
pre{background:#f6f7fa;padding:.5rem;overflow:auto;font-size:12px}.st{color:#556}td,th{text-align:left;padding:.25rem .5rem;vertical-align:top}
tr:target{background:#fff6d6}</style></head><body>${body}</body></html>`
}
