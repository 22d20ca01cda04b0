/** The domain event webhooks emit themselves: a test sent on request to one endpoint (API.md §7). */

declare module '../events/envelope.js' {
  interface EventDataByType {
    /** Delivered to the endpoint named here only, whatever its event filter. */
    'webhook.test': { webhookId: string; message: string }
  }
}

export {}
