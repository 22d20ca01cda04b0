// The SDKs' REST types come from the server's OpenAPI document, never from a hand copy: `render`
// turns the document into src/api.ts (packages/node/test/api-types.test.ts checks the committed
// file equals what the current server renders).
import openapiTS, { astToString } from 'openapi-typescript'

/** The PARLEY_PUBLIC_URL of the server the document is taken from (it shows in the examples' problem types). */
export const PUBLIC_URL = 'https://chat.example.com'

const HEADER = '// Generated from GET /openapi.json by packages/protocol/scripts/generate-types.mjs. Do not edit.\n\n'

/** The text of src/api.ts for an OpenAPI document. */
export async function render(document) {
  return HEADER + astToString(await openapiTS(document))
}
