/**
 * Push notifications (API.md §10): providers and the push log with a secret key (push:read /
 * push:write); devices with a user's session token (its own, no extra scope) or a secret key (any
 * user's); mutes with a member's session token.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { secretCaller, sessionCaller } from '../http/caller-of.js'
import { IdParams, ref } from '../http/schemas.js'
import {
  ApnsBody,
  DeviceBody,
  DeviceList,
  DeviceSchema,
  FcmBody,
  MuteBody,
  ProviderList,
  ProviderSchema,
  PushDeliveryPage,
  PushDeliveryQuery,
  UserDeviceParams,
  UserParams,
  WebPushBody,
} from './schemas.js'
import type { PushService } from './service.js'

const read = { auth: { callers: ['secret'], scope: 'push:read' } } as const
const write = { auth: { callers: ['secret'], scope: 'push:write' } } as const
/** A user's own devices and mutes: any session token of a user (visitors are refused by the service). */
const own = { auth: { callers: ['session'] } } as const
const tags = ['Push']
const NoContent = { 204: Type.Null() }
/** 201 when the device is new to this user (or moved from another), 200 when it was already its own. */
const Registered = { 200: ref(DeviceSchema), 201: ref(DeviceSchema) }

export const pushRoutes: FastifyPluginAsyncTypebox<{ push: PushService }> = async (app, { push }) => {
  const providers = [
    { type: 'apns', body: ApnsBody, summary: 'Configure APNs: a .p8 token key, team and key ids, bundle id' },
    { type: 'fcm', body: FcmBody, summary: "Configure FCM HTTP v1: a service account's JSON key file" },
    { type: 'webpush', body: WebPushBody, summary: 'Configure Web Push: Parley makes the VAPID key pair and returns its publicKey' },
  ] as const
  // One route per provider (each has its own body), for setting and for removing it.
  for (const { type, body, summary } of providers) {
    const name = { apns: 'Apns', fcm: 'Fcm', webpush: 'WebPush' }[type]
    app.put(
      `/v1/push/providers/${type}`,
      { config: write, schema: { tags, operationId: `push.providers.set${name}`, summary, body, response: { 200: ref(ProviderSchema) } } },
      async (request) => push.setProvider(secretCaller(request), type, request.body),
    )
    app.delete(
      `/v1/push/providers/${type}`,
      {
        config: write,
        schema: { tags, operationId: `push.providers.delete${name}`, summary: `Remove the ${type} provider (its devices get nothing until it is set again)`, response: NoContent, errorCodes: ['not_found'] },
      },
      async (request, reply) => {
        await push.deleteProvider(secretCaller(request), type)
        return reply.status(204).send(null)
      },
    )
  }

  app.get(
    '/v1/push/providers',
    { config: read, schema: { tags, operationId: 'push.providers.list', summary: 'The configured providers and their public settings', response: { 200: ref(ProviderList) } } },
    async (request) => push.listProviders(secretCaller(request)),
  )

  // A user's own devices (session token).
  app.post(
    '/v1/me/devices',
    {
      config: own,
      schema: { tags, operationId: 'me.devices.register', summary: "Register this user's device (a token moving from another user moves to this one)", body: DeviceBody, response: Registered },
    },
    async (request, reply) => {
      const { device, created } = await push.registerOwnDevice(sessionCaller(request), request.body)
      return reply.status(created ? 201 : 200).send(device)
    },
  )

  app.get(
    '/v1/me/devices',
    { config: own, schema: { tags, operationId: 'me.devices.list', summary: "This user's devices", response: { 200: ref(DeviceList) } } },
    async (request) => push.ownDevices(sessionCaller(request)),
  )

  app.delete(
    '/v1/me/devices/:id',
    { config: own, schema: { tags, operationId: 'me.devices.delete', summary: 'Remove one of this user’s devices', params: IdParams, response: NoContent } },
    async (request, reply) => {
      await push.deleteOwnDevice(sessionCaller(request), request.params.id)
      return reply.status(204).send(null)
    },
  )

  // Any user's devices (secret key).
  app.post(
    '/v1/users/:userId/devices',
    {
      config: write,
      schema: {
        tags,
        operationId: 'users.devices.register',
        summary: "Register a user's device (a token moving from another user moves to this one)",
        params: UserParams,
        body: DeviceBody,
        response: Registered,
      },
    },
    async (request, reply) => {
      const { device, created } = await push.registerDevice(secretCaller(request), request.params.userId, request.body)
      return reply.status(created ? 201 : 200).send(device)
    },
  )

  app.get(
    '/v1/users/:userId/devices',
    { config: read, schema: { tags, operationId: 'users.devices.list', summary: "A user's devices", params: UserParams, response: { 200: ref(DeviceList) } } },
    async (request) => push.devicesOf(secretCaller(request), request.params.userId),
  )

  app.delete(
    '/v1/users/:userId/devices/:id',
    { config: write, schema: { tags, operationId: 'users.devices.delete', summary: "Remove a user's device", params: UserDeviceParams, response: NoContent } },
    async (request, reply) => {
      await push.deleteDevice(secretCaller(request), request.params.userId, request.params.id)
      return reply.status(204).send(null)
    },
  )

  // Mutes (a member's session token).
  app.put(
    '/v1/conversations/:id/mute',
    { config: own, schema: { tags, operationId: 'conversations.mute', summary: 'No push for this conversation, until `until` or until unmuted', params: IdParams, body: MuteBody, response: NoContent } },
    async (request, reply) => {
      await push.mute(sessionCaller(request), request.params.id, request.body?.until ?? null)
      return reply.status(204).send(null)
    },
  )

  app.delete(
    '/v1/conversations/:id/mute',
    { config: own, schema: { tags, operationId: 'conversations.unmute', summary: 'Pushes for this conversation again', params: IdParams, response: NoContent } },
    async (request, reply) => {
      await push.unmute(sessionCaller(request), request.params.id)
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/v1/push/deliveries',
    {
      config: read,
      schema: { tags, operationId: 'push.deliveries.list', summary: 'The push log: one record per notification, latest first', querystring: PushDeliveryQuery, response: { 200: PushDeliveryPage } },
    },
    async (request) => push.deliveries(secretCaller(request), request.query),
  )
}
