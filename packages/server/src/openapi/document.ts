/** The parts of the generated OpenAPI document that this folder reads and writes after generation. */
import type { SecurityRequirement } from './security.js'

export interface Media {
  schema?: unknown
  example?: unknown
}

export interface Operation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  security?: SecurityRequirement[]
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[]
  requestBody?: { required?: boolean; content?: Record<string, Media> }
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>
}

export interface Document {
  info: { title: string; version: string; description?: string }
  components: { schemas: Record<string, unknown> }
  paths: Record<string, Record<string, Operation>>
}
