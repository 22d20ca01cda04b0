/**
 * The shapes of @parley/node, read from the OpenAPI document the server publishes (generated into
 * @parley/protocol/api, which @parley/client reads too): a method's argument and answer types are
 * those of its operation, by id.
 */
import type { components, operations } from '@parley/protocol/api'

export type { components, operations }
export type OperationId = keyof operations
type Schemas = components['schemas']

/** The JSON body an operation takes. */
export type Body<O extends OperationId> = operations[O] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never
/** The query parameters an operation takes. */
export type Query<O extends OperationId> = NonNullable<operations[O]['parameters']['query']>
type Json<R> = R extends { content: { 'application/json': infer B } } ? B : undefined
/** The body of an operation's success answer (undefined for a 204). */
export type Answer<O extends OperationId> = operations[O]['responses'] extends infer R
  ? R extends { 200: infer A } ? Json<A> : R extends { 201: infer A } ? Json<A> : R extends { 202: infer A } ? Json<A> : undefined
  : never

export type User = Schemas['User']
export type Key = Schemas['Key']
export type KeyWithSecret = Schemas['KeyWithSecret']
export type Conversation = Schemas['Conversation']
export type ConversationSummary = Schemas['ConversationSummary']
export type Message = Schemas['Message']
export type WebhookEndpoint = Schemas['WebhookEndpoint']
export type WebhookEndpointWithSecret = Schemas['WebhookEndpointWithSecret']
export type PushProvider = Schemas['PushProvider']
export type PushDevice = Schemas['PushDevice']
export type PushDelivery = Schemas['PushDelivery']
export type ErrorCode = Schemas['ErrorCode']
