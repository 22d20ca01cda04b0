/**
 * Leaked-key reports (API.md §11): POST /v1/security/leaked-keys, signed by a code host's secret
 * scanning (GitHub's partner format), and POST /v1/admin/leaked-keys for operators who run their own
 * scanners. Both take the same body and give the same answer.
 *
 * The signed route takes no Parley credential. Its checks, in order: 404 unless keys are
 * configured; the per-address failed-auth throttle (a bad signature counts as a failed
 * authentication, so forging costs one verification per failure allowed); the signature over the
 * raw body; only then the JSON and the schema.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { FailureThrottle } from '../auth/credentials.js'
import { ApiError } from '../core/errors.js'
import { keepRawJson } from './raw-json.js'
import type { ReporterKeys } from './reporter-keys.js'
import { LeakReportAnswer, LeakReportBody } from './schemas.js'
import type { LeakService } from './service.js'
import { checkSignature } from './signature.js'

export interface LeakRouteDeps {
  leaks: LeakService
  /** Null when neither PARLEY_LEAK_REPORT_KEYS_URL nor PARLEY_LEAK_REPORT_KEYS is set: the signed route answers 404. */
  reporterKeys: ReporterKeys | null
  throttle: FailureThrottle
}

const tags = ['Leaked keys']
const description =
  'Each token is checked for format and checksum, then looked up by its SHA-256. A Parley key that still works is revoked at once on ' +
  'every node, its report kept (URL and source, never the token), a key.leaked event sent and an alert event recorded. The same report ' +
  'twice changes nothing the second time. The answer has one verdict per token, in order.'

export const leakRoutes: FastifyPluginAsyncTypebox<LeakRouteDeps> = async (app, { leaks, reporterKeys, throttle }) => {
  const rawJson = keepRawJson(app)

  /** The signature, behind the throttle; every 401 counts against the client's address. */
  const checkSigned = async (request: FastifyRequest) => {
    if (reporterKeys === null) throw new ApiError('not_found', 'Leak reports are not enabled on this server')
    const refusal = throttle.refusal(request.ip)
    if (refusal) throw refusal
    try {
      await checkSignature(rawJson.bytesOf(request), request.headers, reporterKeys)
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw await throttle.failed(request.ip, error)
      throw error
    }
  }

  app.post(
    '/v1/security/leaked-keys',
    {
      config: { auth: { callers: [], signed: 'code-host' } },
      preValidation: async (request) => {
        await checkSigned(request)
        rawJson.refuseUnreadable(request)
      },
      schema: {
        tags,
        operationId: 'security.leakedKeys.report',
        summary: 'Report keys found in public, signed by a code host’s secret scanning (GitHub’s partner format)',
        description: `${description} No Parley credential: the report is signed (Github-Public-Key-Identifier, Github-Public-Key-Signature over the raw body) with a key published at PARLEY_LEAK_REPORT_KEYS_URL or given in PARLEY_LEAK_REPORT_KEYS; 404 when neither is set, 503 when the keys cannot be fetched (nothing is revoked).`,
        body: LeakReportBody,
        response: { 200: LeakReportAnswer },
        errorCodes: ['not_found'],
      },
    },
    async (request) => leaks.report(request.body),
  )

  app.post(
    '/v1/admin/leaked-keys',
    {
      config: { auth: { callers: ['admin'] } },
      preValidation: async (request) => rawJson.refuseUnreadable(request),
      schema: {
        tags,
        operationId: 'admin.leakedKeys.report',
        summary: 'Report keys found in public, as the operator (your own scanners: gitleaks, trufflehog)',
        description: `${description} The same body as the signed route, with the admin key instead of a signature.`,
        body: LeakReportBody,
        response: { 200: LeakReportAnswer },
      },
    },
    async (request) => leaks.report(request.body),
  )
}
