import { Type } from '@fastify/type-provider-typebox'
import { named, ref } from '../http/schemas.js'

export const MAX_TOKENS_PER_REPORT = 1000

/**
 * One reported token, as code hosts send it. Other fields an item may carry are ignored rather
 * than refused: a code host adding a field must never stop its reports from revoking keys.
 */
const ReportedTokenSchema = Type.Object({
  token: Type.String({ description: 'The secret found: a Parley key (sk_live_…, sk_test_…, pk_live_…, pk_test_…) or anything a scanner took for one' }),
  type: Type.String({ maxLength: 256, description: 'The reporter’s name for the kind of secret; echoed as token_type', examples: ['parley_secret_key'] }),
  url: Type.String({ maxLength: 8192, description: 'Where it was found', examples: ['https://github.com/acme/app/blob/abc123/.env'] }),
  source: Type.String({ maxLength: 256, description: 'What was scanned: content, commit, issue_comment…', examples: ['content'] }),
})

/** Inline, not a named component: bodies are validated without the shared schemas (http/validation.ts). */
export const LeakReportBody = Type.Array(ReportedTokenSchema, { maxItems: MAX_TOKENS_PER_REPORT, description: 'At most 1,000 tokens (and 1 MiB)' })

export const TokenVerdictSchema = named(
  'LeakReportVerdict',
  Type.Object({
    token_hash: Type.String({ description: 'Hex SHA-256 of the token: the reporter matches verdicts to tokens by it', examples: ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'] }),
    token_type: Type.String({ description: 'The item’s type, as reported' }),
    label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')], {
      description: 'true_positive: a Parley key (revoked now, or before); false_positive: anything else',
    }),
  }),
)

export const LeakReportAnswer = Type.Array(ref(TokenVerdictSchema))
