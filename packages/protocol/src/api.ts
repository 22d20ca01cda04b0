// Generated from GET /openapi.json by packages/protocol/scripts/generate-types.mjs. Do not edit.

export interface paths {
    "/v1/admin/tenants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List tenants, newest first */
        get: operations["admin.tenants.list"];
        put?: never;
        /** Create a tenant with one secret key per environment */
        post: operations["admin.tenants.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/tenants/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a tenant */
        get: operations["admin.tenants.get"];
        put?: never;
        post?: never;
        /** Delete a tenant (permanent) */
        delete: operations["admin.tenants.delete"];
        options?: never;
        head?: never;
        /** Rename, change plan or rate limit, suspend or reinstate a tenant */
        patch: operations["admin.tenants.update"];
        trace?: never;
    };
    "/v1/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List keys */
        get: operations["keys.list"];
        put?: never;
        /** Create a key (the plaintext is returned once) */
        post: operations["keys.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a key, with where it was reported leaked (leakReports) */
        get: operations["keys.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Rename, narrow scopes, change origins, rate limit or metadata */
        patch: operations["keys.update"];
        trace?: never;
    };
    "/v1/keys/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke a key at once, on every node
         * @description The caller needs the key’s scopes, as creating it would (403 insufficient_scope).
         */
        post: operations["keys.revoke"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/{id}/roll": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Replace a key with a new secret; the old one works for expiresInSeconds more
         * @description A key has at most one predecessor in grace: rolling a key ends the grace of the key it replaced. A grace keeps both keys active, so it needs room in the plan’s key count (403 plan_limit_reached). A key already rolled cannot be rolled again (400; 409 when another roll or a revocation of it commits first); the caller needs the key’s scopes (403 insufficient_scope).
         */
        post: operations["keys.roll"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant, environment and credential of the caller */
        get: operations["me.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List users (visitors included), newest first */
        get: operations["users.list"];
        put?: never;
        /** Create or update a user by your own id (201 created, 200 updated) */
        post: operations["users.upsert"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a user */
        get: operations["users.get"];
        put?: never;
        post?: never;
        /** Delete a user: its tokens are revoked and its sockets closed; its messages remain */
        delete: operations["users.delete"];
        options?: never;
        head?: never;
        /** Edit a user (only the fields sent change) */
        patch: operations["users.update"];
        trace?: never;
    };
    "/v1/users/{id}/revoke-tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Revoke every session token of this user minted until now */
        post: operations["users.revokeTokens"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Mint a session token (ES256 JWT) for one of your users */
        post: operations["tokens.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/signing-keys/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Start signing with a new key; the old public key stays published until its tokens expire */
        post: operations["admin.signingKeys.rotate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/identity/init": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Open a visitor session with a publishable key (in x-api-key or the apiKey field)
         * @description The same visitorId always opens the same visitor, so treat it as that visitor’s secret. `profile` applies to a new visitor only: for a known visitorId the stored profile is neither returned (the profile fields carry only what this call sent) nor changed.
         */
        post: operations["identity.init"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/identity/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Exchange a still-valid visitor token for a fresh one */
        post: operations["identity.refresh"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/identity/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The user or visitor behind a session token */
        get: operations["identity.me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenant": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Public fields of the publishable key’s tenant */
        get: operations["tenant.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List conversations by last activity, newest first */
        get: operations["conversations.list"];
        put?: never;
        /** Create a conversation (an existing direct conversation of the same pair is returned with 200) */
        post: operations["conversations.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a conversation with its members */
        get: operations["conversations.get"];
        put?: never;
        post?: never;
        /** Delete a conversation and its messages */
        delete: operations["conversations.delete"];
        options?: never;
        head?: never;
        /** Rename a conversation or change its metadata (owners and secret keys) */
        patch: operations["conversations.update"];
        trace?: never;
    };
    "/v1/conversations/{id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Add members to a group conversation */
        post: operations["conversations.addMembers"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/members/{userId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Remove a member (any member may remove itself) */
        delete: operations["conversations.removeMember"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/me/unread": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Unread counts of the session user */
        get: operations["me.unread"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** History in ascending seq: the latest page, or the page before/after a seq */
        get: operations["conversations.messages.list"];
        put?: never;
        /** Send a message (a retried clientMessageId returns the original with 200) */
        post: operations["conversations.messages.send"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/messages/{messageId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Soft-delete a message (its sender, or a secret key with messages:delete) */
        delete: operations["conversations.messages.delete"];
        options?: never;
        head?: never;
        /** Edit a message (its sender or a secret key) */
        patch: operations["conversations.messages.edit"];
        trace?: never;
    };
    "/v1/conversations/{id}/read": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Move a member’s read position forward (secret keys name the member with userId) */
        post: operations["conversations.markRead"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/{id}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Requests, outcomes and latency of one key, by hour or day */
        get: operations["keys.usage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Usage summed over the environment’s keys, with per-key totals */
        get: operations["usage.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/alerts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The usage alert rules of this environment */
        get: operations["alerts.get"];
        /** Replace the usage alert rules (omit a rule to turn it off) */
        put: operations["alerts.replace"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/alerts/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Alerts that fired, newest first */
        get: operations["alerts.events.list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/event-types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The event types an endpoint can subscribe to */
        get: operations["webhooks.eventTypes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List endpoints */
        get: operations["webhooks.list"];
        put?: never;
        /** Register an endpoint (its signing secret is returned once) */
        post: operations["webhooks.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get an endpoint */
        get: operations["webhooks.get"];
        put?: never;
        post?: never;
        /** Delete an endpoint and its delivery log */
        delete: operations["webhooks.delete"];
        options?: never;
        head?: never;
        /** Change the URL, events or description; enable or disable (enabling clears disabledReason) */
        patch: operations["webhooks.update"];
        trace?: never;
    };
    "/v1/webhooks/{id}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send a webhook.test event to this endpoint, whatever its event filter */
        post: operations["webhooks.test"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/{id}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Replace the signing secret; during the overlap every delivery carries both signatures */
        post: operations["webhooks.rotateSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/{id}/recover": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Queue again every event that failed since a time (at most 14 days ago) and never succeeded */
        post: operations["webhooks.recover"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/{id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The delivery log: one record per attempt, latest first (a scheduled attempt is pending) */
        get: operations["webhooks.deliveries.list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/{id}/deliveries/{deliveryId}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Attempt the delivery's event again now (same event id) */
        post: operations["webhooks.deliveries.retry"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/push/providers/apns": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Configure APNs: a .p8 token key, team and key ids, bundle id */
        put: operations["push.providers.setApns"];
        post?: never;
        /** Remove the apns provider (its devices get nothing until it is set again) */
        delete: operations["push.providers.deleteApns"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/push/providers/fcm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Configure FCM HTTP v1: a service account's JSON key file */
        put: operations["push.providers.setFcm"];
        post?: never;
        /** Remove the fcm provider (its devices get nothing until it is set again) */
        delete: operations["push.providers.deleteFcm"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/push/providers/webpush": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Configure Web Push: Parley makes the VAPID key pair and returns its publicKey */
        put: operations["push.providers.setWebPush"];
        post?: never;
        /** Remove the webpush provider (its devices get nothing until it is set again) */
        delete: operations["push.providers.deleteWebPush"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/push/providers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The configured providers and their public settings */
        get: operations["push.providers.list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/me/devices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This user's devices */
        get: operations["me.devices.list"];
        put?: never;
        /** Register this user's device (a token moving from another user moves to this one) */
        post: operations["me.devices.register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/me/devices/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Remove one of this user’s devices */
        delete: operations["me.devices.delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{userId}/devices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A user's devices */
        get: operations["users.devices.list"];
        put?: never;
        /** Register a user's device (a token moving from another user moves to this one) */
        post: operations["users.devices.register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{userId}/devices/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Remove a user's device */
        delete: operations["users.devices.delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/mute": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** No push for this conversation, until `until` or until unmuted */
        put: operations["conversations.mute"];
        post?: never;
        /** Pushes for this conversation again */
        delete: operations["conversations.unmute"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/push/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The push log: one record per notification, latest first */
        get: operations["push.deliveries.list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/dashboard/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The signed-in dashboard session: who it is, and until when */
        get: operations["dashboard.session.get"];
        put?: never;
        /**
         * Sign in to the dashboard with the admin key or a secret key (sets the httpOnly session cookie)
         * @description Exchanges the key for a session cookie `parley_dashboard` (HttpOnly, SameSite=Strict, Path=/, 12 hours, Secure over https), stored server-side only as a hash. Any other credential is a 401, and failures count towards the per-address throttle of failed authentications. A request with an `Origin` must come from Parley’s own origin.
         */
        post: operations["dashboard.session.create"];
        /** Sign out: ends the session on the server and clears its cookie */
        delete: operations["dashboard.session.delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/security/leaked-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Report keys found in public, signed by a code host’s secret scanning (GitHub’s partner format)
         * @description Each token is checked for format and checksum, then looked up by its SHA-256. A Parley key that still works is revoked at once on every node, its report kept (URL and source, never the token), a key.leaked event sent and an alert event recorded. The same report twice changes nothing the second time. The answer has one verdict per token, in order. No Parley credential: the report is signed (Github-Public-Key-Identifier, Github-Public-Key-Signature over the raw body) with a key published at PARLEY_LEAK_REPORT_KEYS_URL or given in PARLEY_LEAK_REPORT_KEYS; 404 when neither is set, 503 when the keys cannot be fetched (nothing is revoked).
         */
        post: operations["security.leakedKeys.report"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/leaked-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Report keys found in public, as the operator (your own scanners: gitleaks, trufflehog)
         * @description Each token is checked for format and checksum, then looked up by its SHA-256. A Parley key that still works is revoked at once on every node, its report kept (URL and source, never the token), a key.leaked event sent and an alert event recorded. The same report twice changes nothing the second time. The answer has one verdict per token, in order. The same body as the signed route, with the admin key instead of a signature.
         */
        post: operations["admin.leakedKeys.report"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description The closed list of error codes: branch on these
         * @enum {string}
         */
        ErrorCode: "invalid_request" | "validation_failed" | "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "invalid_signature" | "tenant_mismatch" | "insufficient_scope" | "forbidden" | "origin_not_allowed" | "key_type_not_allowed" | "plan_limit_reached" | "not_found" | "user_not_found" | "conflict" | "payload_too_large" | "unsupported_media_type" | "rate_limited" | "internal_error" | "unavailable";
        /** @description RFC 9457 problem details */
        Problem: {
            /**
             * Format: uri
             * @description Links to the code on the /docs/errors page
             * @example https://chat.example.com/docs/errors#not_found
             */
            type: string;
            /** @example Not Found */
            title: string;
            /** @example 404 */
            status: number;
            /**
             * @description For people; its wording may change
             * @example Key not found
             */
            detail: string;
            code: components["schemas"]["ErrorCode"];
            /**
             * @description The x-request-id of the response
             * @example req_uKyTI3smkwlqcKrSRZ2cof
             */
            requestId: string;
            /** @description Only on validation_failed */
            errors?: {
                param: string;
                message: string;
            }[];
        };
        AlertRules: {
            trafficSpike?: {
                factor: number;
                minRequests: number;
            };
            errorRate?: {
                percent: number;
                minRequests: number;
            };
            nearLimit?: {
                percent: number;
            };
        };
        AlertEvent: {
            id: string;
            keyId: string;
            rule: string;
            details: {
                [key: string]: unknown;
            };
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
        };
        AlertEventPage: {
            data: components["schemas"]["AlertEvent"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        Member: {
            userId: string;
            /** @enum {string} */
            role: "owner" | "member";
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            joinedAt: string;
            lastReadSeq: number;
        };
        ConversationSummary: {
            id: string;
            /** @enum {string} */
            type: "direct" | "group";
            name: string | null;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            lastSeq: number;
            lastMessage: components["schemas"]["Message"] | null;
            unreadCount?: number;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            lastActivityAt: string;
        };
        Conversation: {
            id: string;
            /** @enum {string} */
            type: "direct" | "group";
            name: string | null;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            lastSeq: number;
            lastMessage: components["schemas"]["Message"] | null;
            unreadCount?: number;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            lastActivityAt: string;
            members: components["schemas"]["Member"][];
        };
        ConversationSummaryPage: {
            data: components["schemas"]["ConversationSummary"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        DashboardSession: {
            /**
             * @description operator: signed in with the admin key (every tenant); tenant: with one tenant secret key
             * @enum {string}
             */
            kind: "operator" | "tenant";
            /** @description The tenant of a tenant session; null for the operator */
            tenant: {
                /** @example ten_3kTq9w2XbZ7yV1mN8pLr4a */
                id: string;
                name: string;
                plan: string;
            } | null;
            /**
             * @description The environment of a tenant session’s key; null for the operator
             * @enum {string|null}
             */
            environment: "live" | "test" | null;
            /** @description The scopes of a tenant session’s key, as they are now ([] = unscoped: every scope); null for the operator */
            scopes: string[] | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            expiresAt: string;
        };
        User: {
            id: string;
            username: string | null;
            displayName: string | null;
            avatarUrl: string | null;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            /** @enum {string} */
            kind: "user" | "visitor";
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
        };
        UserPage: {
            data: components["schemas"]["User"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        Visitor: {
            id: string;
            username: string | null;
            displayName: string | null;
            avatarUrl: string | null;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            /** @enum {string} */
            kind: "user" | "visitor";
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
            visitorId: string | null;
            email: string | null;
        };
        SessionUser: {
            id: string;
            username: string | null;
            displayName: string | null;
            avatarUrl: string | null;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            /** @enum {string} */
            kind: "user" | "visitor";
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
            visitorId?: string | null;
            email?: string | null;
        };
        LeakReport: {
            /**
             * @description Where the key was found, as the reporter gave it
             * @example https://github.com/acme/app/blob/abc123/.env
             */
            url: string;
            /**
             * @description What the reporter scanned: content, commit, issue_comment…
             * @example content
             */
            source: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            reportedAt: string;
        };
        Key: {
            /** @example key_3kTq9w2XbZ7yV1mN8pLr4a */
            id: string;
            name: string;
            /** @enum {string} */
            type: "secret" | "publishable";
            /** @enum {string} */
            environment: "live" | "test";
            /** @example sk_live_Ab3x…9fQ2 */
            display: string;
            scopes: string[];
            /** @enum {string} */
            status: "active" | "revoked" | "expired";
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            lastUsedAt: string | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            expiresAt: string | null;
            allowedOrigins: string[] | null;
            /** @description Visitor token inactivity lifetime (publishable keys); null = 1800 */
            visitorTtlSeconds: number | null;
            rateLimit: {
                limit: number;
                windowSeconds: number;
            } | null;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            /** @description GET /v1/keys/{id} only: where the key was reported found in public, oldest first (API.md §11). One entry per place. */
            leakReports?: components["schemas"]["LeakReport"][];
        };
        KeyWithSecret: {
            /** @example key_3kTq9w2XbZ7yV1mN8pLr4a */
            id: string;
            name: string;
            /** @enum {string} */
            type: "secret" | "publishable";
            /** @enum {string} */
            environment: "live" | "test";
            /** @example sk_live_Ab3x…9fQ2 */
            display: string;
            scopes: string[];
            /** @enum {string} */
            status: "active" | "revoked" | "expired";
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            lastUsedAt: string | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            expiresAt: string | null;
            allowedOrigins: string[] | null;
            /** @description Visitor token inactivity lifetime (publishable keys); null = 1800 */
            visitorTtlSeconds: number | null;
            rateLimit: {
                limit: number;
                windowSeconds: number;
            } | null;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            /** @description GET /v1/keys/{id} only: where the key was reported found in public, oldest first (API.md §11). One entry per place. */
            leakReports?: components["schemas"]["LeakReport"][];
            /** @description The plaintext key. Shown once; store it now. */
            key: string;
        };
        KeyPage: {
            data: components["schemas"]["Key"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        LeakReportVerdict: {
            /**
             * @description Hex SHA-256 of the token: the reporter matches verdicts to tokens by it
             * @example 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
             */
            token_hash: string;
            /** @description The item’s type, as reported */
            token_type: string;
            /**
             * @description true_positive: a Parley key (revoked now, or before); false_positive: anything else
             * @enum {string}
             */
            label: "true_positive" | "false_positive";
        };
        Me: {
            tenant: {
                id: string;
                name: string;
                plan: string;
            };
            /** @enum {string} */
            environment: "live" | "test";
            key?: {
                id: string;
                type: string;
                scopes: string[];
            };
            user?: {
                id: string;
                kind: string;
                scopes: string[] | null;
            };
        };
        Message: {
            id: string;
            conversationId: string;
            seq: number;
            senderId: string;
            text: string;
            /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
            metadata: {
                [key: string]: unknown;
            } | null;
            clientMessageId: string | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            editedAt: string | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            deletedAt: string | null;
        };
        MessageHistory: {
            /** @description In ascending seq */
            data: components["schemas"]["Message"][];
            /** @description More messages exist in the direction read (older, or newer with after) */
            hasMore: boolean;
        };
        Tenant: {
            id: string;
            name: string;
            plan: string;
            rateLimit: {
                limit: number;
                windowSeconds: number;
            } | null;
            suspended: boolean;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
        };
        TenantPage: {
            data: components["schemas"]["Tenant"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        UsageTotals: {
            requests: number;
            success: number;
            clientErrors: number;
            serverErrors: number;
            rateLimited: number;
            avgLatencyMs: number;
        };
        UsagePoint: {
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            t: string;
            requests: number;
            success: number;
            clientErrors: number;
            serverErrors: number;
            rateLimited: number;
            avgLatencyMs: number;
        };
        WebhookEndpoint: {
            /** @example whk_3kTq9w2XbZ7yV1mN8pLr4a */
            id: string;
            url: string;
            description: string | null;
            events: string[];
            enabled: boolean;
            /**
             * @description Why Parley disabled it: "gone" (a 410), "failing" (5 days of failures); null otherwise
             * @enum {string|null}
             */
            disabledReason: "failing" | "gone" | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
        };
        WebhookEndpointWithSecret: {
            /** @example whk_3kTq9w2XbZ7yV1mN8pLr4a */
            id: string;
            url: string;
            description: string | null;
            events: string[];
            enabled: boolean;
            /**
             * @description Why Parley disabled it: "gone" (a 410), "failing" (5 days of failures); null otherwise
             * @enum {string|null}
             */
            disabledReason: "failing" | "gone" | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
            /** @description The signing secret (whsec_…). Shown once; store it now. */
            secret: string;
        };
        WebhookEndpointPage: {
            data: components["schemas"]["WebhookEndpoint"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        WebhookEventTypeList: {
            data: {
                /** @example message.created */
                type: string;
                description: string;
            }[];
        };
        WebhookDelivery: {
            /** @example dlv_0Vbnvp9cxw3yugBtv78hx9iTC */
            id: string;
            /** @description The event (evt_…), sent as webhook-id on every attempt */
            eventId: string;
            eventType: string;
            /** @description 1 for the first attempt at this event */
            attempt: number;
            /** @enum {string} */
            status: "pending" | "succeeded" | "failed";
            responseStatus: number | null;
            durationMs: number | null;
            error: string | null;
            /** @description At most the first 1 KB of the receiver's answer */
            responseBody: string | null;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            attemptedAt: string | null;
            /**
             * Format: date-time
             * @description When a pending attempt is due
             */
            nextAttemptAt: string | null;
        };
        WebhookDeliveryPage: {
            data: components["schemas"]["WebhookDelivery"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        /** @description A configured provider's public settings; private keys are never returned */
        PushProvider: {
            /** @enum {string} */
            type: "apns" | "fcm" | "webpush";
            /** @enum {boolean} */
            configured: true;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
            /** @description APNs */
            teamId?: string;
            /** @description APNs */
            keyId?: string;
            /** @description APNs */
            bundleId?: string;
            /** @description APNs */
            production?: boolean;
            /** @description FCM: the service account, without its private key */
            serviceAccount?: {
                project_id: string;
                client_email: string;
                token_uri?: string;
                private_key_id?: string;
            };
            /** @description Web Push */
            subject?: string;
            /** @description Web Push: the VAPID public key (base64url), the applicationServerKey browsers subscribe with */
            publicKey?: string;
        };
        PushProviderList: {
            data: {
                /** @enum {string} */
                type: "apns" | "fcm" | "webpush";
                /** @enum {boolean} */
                configured: true;
                /**
                 * Format: date-time
                 * @example 2026-05-30T12:00:00.000Z
                 */
                updatedAt: string;
                /** @description APNs */
                teamId?: string;
                /** @description APNs */
                keyId?: string;
                /** @description APNs */
                bundleId?: string;
                /** @description APNs */
                production?: boolean;
                /** @description FCM: the service account, without its private key */
                serviceAccount?: {
                    project_id: string;
                    client_email: string;
                    token_uri?: string;
                    private_key_id?: string;
                };
                /** @description Web Push */
                subject?: string;
                /** @description Web Push: the VAPID public key (base64url), the applicationServerKey browsers subscribe with */
                publicKey?: string;
            }[];
        };
        PushDevice: {
            /** @example dev_3kTq9w2XbZ7yV1mN8pLr4a */
            id: string;
            /** @enum {string} */
            provider: "apns" | "fcm" | "webpush";
            /**
             * @description apns → ios, fcm → android, webpush → web
             * @enum {string}
             */
            platform: "ios" | "android" | "web";
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @description When it was last registered or pushed to
             */
            lastUsedAt: string;
        };
        PushDeviceList: {
            /** @description At most 25, most recently used first */
            data: {
                /** @example dev_3kTq9w2XbZ7yV1mN8pLr4a */
                id: string;
                /** @enum {string} */
                provider: "apns" | "fcm" | "webpush";
                /**
                 * @description apns → ios, fcm → android, webpush → web
                 * @enum {string}
                 */
                platform: "ios" | "android" | "web";
                /**
                 * Format: date-time
                 * @example 2026-05-30T12:00:00.000Z
                 */
                createdAt: string;
                /**
                 * Format: date-time
                 * @description When it was last registered or pushed to
                 */
                lastUsedAt: string;
            }[];
        };
        PushDelivery: {
            /** @example psh_0Vbnvp9cxw3yugBtv78hx9iTC */
            id: string;
            userId: string;
            deviceId: string;
            /** @enum {string} */
            provider: "apns" | "fcm" | "webpush";
            conversationId: string;
            messageId: string;
            /** @enum {string} */
            status: "pending" | "sent" | "failed" | "pruned" | "test";
            /** @description Attempts made so far (0 while the first is waiting, and in test mode) */
            attempt: number;
            /** @description The provider's HTTP status at the latest attempt */
            responseStatus: number | null;
            /** @description What went wrong, or why the device was pruned (the provider's reason) */
            reason: string | null;
            /** @description Test mode only: exactly what would have been sent; null otherwise */
            payload: unknown;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-05-30T12:00:00.000Z
             */
            updatedAt: string;
        };
        PushDeliveryPage: {
            data: components["schemas"]["PushDelivery"][];
            /** @description Pass it back as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    "admin.tenants.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "admin.tenants.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Acme",
                 *       "plan": "starter"
                 *     }
                 */
                "application/json": {
                    name: string;
                    plan?: string;
                };
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "tenant": {
                     *         "id": "ten_8fJq2LmN4pRs6TuV8wXy0z",
                     *         "name": "Acme",
                     *         "plan": "starter",
                     *         "rateLimit": null,
                     *         "suspended": false,
                     *         "createdAt": "2026-05-30T12:00:00.000Z",
                     *         "updatedAt": "2026-05-30T12:00:00.000Z"
                     *       },
                     *       "keys": {
                     *         "live": {
                     *           "id": "key_7pLm2Nq4Rs6Tu8Vw0Xy2Za",
                     *           "name": "Default",
                     *           "type": "secret",
                     *           "environment": "live",
                     *           "display": "sk_live_Qw3e…7uI9",
                     *           "scopes": [],
                     *           "status": "active",
                     *           "createdAt": "2026-05-30T12:00:00.000Z",
                     *           "lastUsedAt": null,
                     *           "expiresAt": null,
                     *           "allowedOrigins": null,
                     *           "visitorTtlSeconds": null,
                     *           "rateLimit": null,
                     *           "metadata": null,
                     *           "key": "sk_live_Qw3e…7uI9"
                     *         },
                     *         "test": {
                     *           "id": "key_3kTq9w2XbZ7yV1mN8pLr4a",
                     *           "name": "Default",
                     *           "type": "secret",
                     *           "environment": "test",
                     *           "display": "sk_test_Ab3x…9fQ2",
                     *           "scopes": [],
                     *           "status": "active",
                     *           "createdAt": "2026-05-30T12:00:00.000Z",
                     *           "lastUsedAt": null,
                     *           "expiresAt": null,
                     *           "allowedOrigins": null,
                     *           "visitorTtlSeconds": null,
                     *           "rateLimit": null,
                     *           "metadata": null,
                     *           "key": "sk_test_Ab3x…9fQ2"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": {
                        tenant: components["schemas"]["Tenant"];
                        keys: {
                            live: components["schemas"]["KeyWithSecret"];
                            test: components["schemas"]["KeyWithSecret"];
                        };
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "admin.tenants.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "admin.tenants.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "admin.tenants.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    name?: string;
                    plan?: string;
                    rateLimit?: {
                        limit: number;
                        windowSeconds: number;
                    } | null;
                    suspended?: boolean;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "keys.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KeyPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "keys.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Reporting job",
                 *       "type": "secret",
                 *       "scopes": [
                 *         "*:read"
                 *       ],
                 *       "expiresAt": "2030-01-01T00:00:00.000Z",
                 *       "metadata": {
                 *         "team": "data"
                 *       }
                 *     }
                 */
                "application/json": {
                    name: string;
                    /** @enum {string} */
                    type: "secret" | "publishable";
                    scopes?: string[];
                    /**
                     * Format: date-time
                     * @example 2026-05-30T12:00:00.000Z
                     */
                    expiresAt?: string | null;
                    allowedOrigins?: string[] | null;
                    rateLimit?: {
                        limit: number;
                        windowSeconds: number;
                    } | null;
                    /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                    /** @description Visitor token inactivity lifetime (publishable keys) */
                    visitorTtlSeconds?: number | null;
                };
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "key_3kTq9w2XbZ7yV1mN8pLr4a",
                     *       "name": "Reporting job",
                     *       "type": "secret",
                     *       "environment": "test",
                     *       "display": "sk_test_Ab3x…9fQ2",
                     *       "scopes": [
                     *         "*:read"
                     *       ],
                     *       "status": "active",
                     *       "createdAt": "2026-05-30T12:00:00.000Z",
                     *       "lastUsedAt": null,
                     *       "expiresAt": "2030-01-01T00:00:00.000Z",
                     *       "allowedOrigins": null,
                     *       "visitorTtlSeconds": null,
                     *       "rateLimit": null,
                     *       "metadata": {
                     *         "team": "data"
                     *       },
                     *       "key": "sk_test_Ab3x…9fQ2"
                     *     }
                     */
                    "application/json": components["schemas"]["KeyWithSecret"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed`, `plan_limit_reached` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed" | "plan_limit_reached";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "keys.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Key"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "keys.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    name?: string;
                    scopes?: string[];
                    allowedOrigins?: string[] | null;
                    rateLimit?: {
                        limit: number;
                        windowSeconds: number;
                    } | null;
                    /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                    /** @description Visitor token inactivity lifetime (publishable keys) */
                    visitorTtlSeconds?: number | null;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Key"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "keys.revoke": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Key"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "keys.roll": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "expiresInSeconds": 86400
                 *     }
                 */
                "application/json": {
                    /** @default 0 */
                    expiresInSeconds?: number;
                };
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "key_9sDf4Gh6Jk8Lz0Xc2Vb4Nm",
                     *       "name": "Reporting job",
                     *       "type": "secret",
                     *       "environment": "test",
                     *       "display": "sk_test_Zx9c…4vB7",
                     *       "scopes": [
                     *         "*:read"
                     *       ],
                     *       "status": "active",
                     *       "createdAt": "2026-05-30T12:00:00.000Z",
                     *       "lastUsedAt": null,
                     *       "expiresAt": "2030-01-01T00:00:00.000Z",
                     *       "allowedOrigins": null,
                     *       "visitorTtlSeconds": null,
                     *       "rateLimit": null,
                     *       "metadata": {
                     *         "team": "data"
                     *       },
                     *       "key": "sk_test_Zx9c…4vB7"
                     *     }
                     */
                    "application/json": components["schemas"]["KeyWithSecret"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed`, `plan_limit_reached` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed" | "plan_limit_reached";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Conflict: `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#conflict",
                     *       "title": "Conflict",
                     *       "status": 409,
                     *       "detail": "An id that already exists, or a change the resource's state does not allow.",
                     *       "code": "conflict",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "conflict";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "me.get": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Me"];
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.upsert": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "id": "alice",
                 *       "displayName": "Alice"
                 *     }
                 */
                "application/json": {
                    /** @description The tenant’s own user id */
                    id: string;
                    username?: string | null;
                    displayName?: string | null;
                    /** Format: uri */
                    avatarUrl?: string | null;
                    /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "alice",
                     *       "username": null,
                     *       "displayName": "Alice",
                     *       "avatarUrl": null,
                     *       "metadata": null,
                     *       "kind": "user",
                     *       "createdAt": "2026-05-30T12:00:00.000Z",
                     *       "updatedAt": "2026-05-30T12:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The tenant’s own user id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The tenant’s own user id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The tenant’s own user id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    username?: string | null;
                    displayName?: string | null;
                    /** Format: uri */
                    avatarUrl?: string | null;
                    /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.revokeTokens": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The tenant’s own user id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "tokens.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "userId": "alice",
                 *       "expiresIn": 3600,
                 *       "scopes": [
                 *         "conversations:read",
                 *         "messages:read",
                 *         "messages:write"
                 *       ]
                 *     }
                 */
                "application/json": {
                    /** @description The tenant’s own user id */
                    userId: string;
                    /** @default 3600 */
                    expiresIn?: number;
                    /** @description Within the calling key's scopes. Left out (or empty): the token carries the key's scopes; unscoped only from an unscoped key. */
                    scopes?: string[];
                };
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InNpZ18ySjdrTDltUDRxUjhzVDN2In0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
                     *       "expiresAt": "2026-05-30T13:00:00.000Z"
                     *     }
                     */
                    "application/json": {
                        token: string;
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        expiresAt: string;
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found`, `user_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found" | "user_not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "admin.signingKeys.rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        kid: string;
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        createdAt: string;
                    };
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "identity.init": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "visitorId": "device-7f3a",
                 *       "profile": {
                 *         "name": "Guest",
                 *         "email": "guest@example.com"
                 *       }
                 *     }
                 */
                "application/json": {
                    /** @description The publishable key (pk_…), when it is not sent in x-api-key */
                    apiKey?: string;
                    visitorId?: string;
                    profile?: {
                        name?: string;
                        /** Format: email */
                        email?: string;
                    };
                };
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sessionToken": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InNpZ18ySjdrTDltUDRxUjhzVDN2In0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
                     *       "expiresAt": "2026-05-30T12:30:00.000Z",
                     *       "visitor": {
                     *         "id": "vis_5tY7uI9oP1aS3dF5gH7jK9",
                     *         "username": null,
                     *         "displayName": "Guest",
                     *         "avatarUrl": null,
                     *         "metadata": null,
                     *         "kind": "visitor",
                     *         "createdAt": "2026-05-30T12:00:00.000Z",
                     *         "updatedAt": "2026-05-30T12:00:00.000Z",
                     *         "visitorId": "device-7f3a",
                     *         "email": "guest@example.com"
                     *       }
                     *     }
                     */
                    "application/json": {
                        sessionToken: string;
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        expiresAt: string;
                        visitor: components["schemas"]["Visitor"];
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `origin_not_allowed`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "origin_not_allowed" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "identity.refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        sessionToken: string;
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        expiresAt: string;
                    };
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "identity.me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "alice",
                     *         "username": null,
                     *         "displayName": "Alice",
                     *         "avatarUrl": null,
                     *         "metadata": null,
                     *         "kind": "user",
                     *         "createdAt": "2026-05-30T12:00:00.000Z",
                     *         "updatedAt": "2026-05-30T12:00:00.000Z"
                     *       },
                     *       "tenant": {
                     *         "id": "ten_8fJq2LmN4pRs6TuV8wXy0z",
                     *         "name": "Acme"
                     *       },
                     *       "expiresAt": "2026-05-30T13:00:00.000Z"
                     *     }
                     */
                    "application/json": {
                        user: components["schemas"]["SessionUser"];
                        tenant: {
                            id: string;
                            name: string;
                        };
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        expiresAt: string;
                    };
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "tenant.get": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                        name: string;
                    };
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `origin_not_allowed`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "origin_not_allowed" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.list": {
        parameters: {
            query?: {
                userId?: string;
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationSummaryPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "type": "direct",
                 *       "members": [
                 *         "bob"
                 *       ]
                 *     }
                 */
                "application/json": {
                    id?: string;
                    /** @enum {string} */
                    type: "direct" | "group";
                    name?: string | null;
                    members: string[];
                    /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Conversation"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "conv_4hG7kL2mP9qR3sT6vW8xZ1",
                     *       "type": "direct",
                     *       "name": null,
                     *       "metadata": null,
                     *       "lastSeq": 0,
                     *       "lastMessage": null,
                     *       "unreadCount": 0,
                     *       "createdAt": "2026-05-30T12:00:00.000Z",
                     *       "updatedAt": "2026-05-30T12:00:00.000Z",
                     *       "lastActivityAt": "2026-05-30T12:00:00.000Z",
                     *       "members": [
                     *         {
                     *           "userId": "alice",
                     *           "role": "owner",
                     *           "joinedAt": "2026-05-30T12:00:00.000Z",
                     *           "lastReadSeq": 0
                     *         },
                     *         {
                     *           "userId": "bob",
                     *           "role": "member",
                     *           "joinedAt": "2026-05-30T12:00:00.000Z",
                     *           "lastReadSeq": 0
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["Conversation"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found`, `user_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found" | "user_not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Conflict: `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#conflict",
                     *       "title": "Conflict",
                     *       "status": 409,
                     *       "detail": "An id that already exists, or a change the resource's state does not allow.",
                     *       "code": "conflict",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "conflict";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Conversation"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    name?: string | null;
                    /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Conversation"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.addMembers": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    userIds: string[];
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Conversation"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found`, `user_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found" | "user_not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.removeMember": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "me.unread": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "total": 1,
                     *       "conversations": [
                     *         {
                     *           "id": "conv_4hG7kL2mP9qR3sT6vW8xZ1",
                     *           "unreadCount": 1
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        total: number;
                        conversations: {
                            id: string;
                            unreadCount: number;
                        }[];
                    };
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.messages.list": {
        parameters: {
            query?: {
                before?: number;
                after?: number;
                limit?: number;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "id": "msg_0Vbnvp9cxw3yugBtv78hx9iTC",
                     *           "conversationId": "conv_4hG7kL2mP9qR3sT6vW8xZ1",
                     *           "seq": 1,
                     *           "senderId": "alice",
                     *           "text": "Hi Bob!",
                     *           "metadata": null,
                     *           "clientMessageId": "c-0001",
                     *           "createdAt": "2026-05-30T12:00:00.000Z",
                     *           "editedAt": null,
                     *           "deletedAt": null
                     *         }
                     *       ],
                     *       "hasMore": false
                     *     }
                     */
                    "application/json": components["schemas"]["MessageHistory"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.messages.send": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "text": "Hi Bob!",
                 *       "clientMessageId": "c-0001"
                 *     }
                 */
                "application/json": {
                    text: string;
                    /** @description Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1) */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                    clientMessageId?: string;
                    senderId?: string;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Message"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "msg_0Vbnvp9cxw3yugBtv78hx9iTC",
                     *       "conversationId": "conv_4hG7kL2mP9qR3sT6vW8xZ1",
                     *       "seq": 1,
                     *       "senderId": "alice",
                     *       "text": "Hi Bob!",
                     *       "metadata": null,
                     *       "clientMessageId": "c-0001",
                     *       "createdAt": "2026-05-30T12:00:00.000Z",
                     *       "editedAt": null,
                     *       "deletedAt": null
                     *     }
                     */
                    "application/json": components["schemas"]["Message"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.messages.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
                messageId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.messages.edit": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
                messageId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    text: string;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Message"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Conflict: `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#conflict",
                     *       "title": "Conflict",
                     *       "status": 409,
                     *       "detail": "An id that already exists, or a change the resource's state does not allow.",
                     *       "code": "conflict",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "conflict";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.markRead": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "seq": 1
                 *     }
                 */
                "application/json": {
                    seq: number;
                    userId?: string;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "conversationId": "conv_4hG7kL2mP9qR3sT6vW8xZ1",
                     *       "userId": "bob",
                     *       "lastReadSeq": 1,
                     *       "unreadCount": 0
                     *     }
                     */
                    "application/json": {
                        conversationId: string;
                        userId: string;
                        lastReadSeq: number;
                        unreadCount: number;
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "keys.usage": {
        parameters: {
            query?: {
                granularity?: "hour" | "day";
                /** @example 2026-05-30T12:00:00.000Z */
                from?: string;
                /** @example 2026-05-30T12:00:00.000Z */
                to?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        granularity: "hour" | "day";
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        from: string;
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        to: string;
                        series: components["schemas"]["UsagePoint"][];
                        totals: components["schemas"]["UsageTotals"];
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        lastUsedAt: string | null;
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "usage.get": {
        parameters: {
            query?: {
                granularity?: "hour" | "day";
                /** @example 2026-05-30T12:00:00.000Z */
                from?: string;
                /** @example 2026-05-30T12:00:00.000Z */
                to?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        granularity: "hour" | "day";
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        from: string;
                        /**
                         * Format: date-time
                         * @example 2026-05-30T12:00:00.000Z
                         */
                        to: string;
                        series: components["schemas"]["UsagePoint"][];
                        totals: components["schemas"]["UsageTotals"];
                        keys: {
                            keyId: string;
                            requests: number;
                            success: number;
                            clientErrors: number;
                            serverErrors: number;
                            rateLimited: number;
                        }[];
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "alerts.get": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AlertRules"];
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "alerts.replace": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "errorRate": {
                 *         "percent": 5,
                 *         "minRequests": 100
                 *       },
                 *       "nearLimit": {
                 *         "percent": 80
                 *       }
                 *     }
                 */
                "application/json": {
                    trafficSpike?: {
                        factor: number;
                        minRequests: number;
                    };
                    errorRate?: {
                        percent: number;
                        minRequests: number;
                    };
                    nearLimit?: {
                        percent: number;
                    };
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "errorRate": {
                     *         "percent": 5,
                     *         "minRequests": 100
                     *       },
                     *       "nearLimit": {
                     *         "percent": 80
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["AlertRules"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "alerts.events.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AlertEventPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.eventTypes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEventTypeList"];
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpointPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description http(s) URL of a public host
                     * @example https://api.example.com/parley/webhooks
                     */
                    url: string;
                    /**
                     * @description Event types (GET /v1/webhooks/event-types), or ["*"] for all
                     * @example [
                     *       "message.created",
                     *       "member.added"
                     *     ]
                     */
                    events: string[];
                    description?: string | null;
                };
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpointWithSecret"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed`, `plan_limit_reached` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed" | "plan_limit_reached";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    /**
                     * @description http(s) URL of a public host
                     * @example https://api.example.com/parley/webhooks
                     */
                    url?: string;
                    /**
                     * @description Event types (GET /v1/webhooks/event-types), or ["*"] for all
                     * @example [
                     *       "message.created",
                     *       "member.added"
                     *     ]
                     */
                    events?: string[];
                    description?: string | null;
                    enabled?: boolean;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.test": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Accepted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        eventId: string;
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Conflict: `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#conflict",
                     *       "title": "Conflict",
                     *       "status": 409,
                     *       "detail": "An id that already exists, or a change the resource's state does not allow.",
                     *       "code": "conflict",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "conflict";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.rotateSecret": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    /** @default 86400 */
                    overlapSeconds?: number;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpointWithSecret"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.recover": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * Format: date-time
                     * @example 2026-05-30T12:00:00.000Z
                     */
                    since: string;
                };
            };
        };
        responses: {
            /** @description Accepted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        count: number;
                    };
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Conflict: `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#conflict",
                     *       "title": "Conflict",
                     *       "status": 409,
                     *       "detail": "An id that already exists, or a change the resource's state does not allow.",
                     *       "code": "conflict",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "conflict";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.deliveries.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
                status?: "pending" | "succeeded" | "failed";
                eventId?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDeliveryPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "webhooks.deliveries.retry": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
                deliveryId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Accepted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDelivery"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Conflict: `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#conflict",
                     *       "title": "Conflict",
                     *       "status": 409,
                     *       "detail": "An id that already exists, or a change the resource's state does not allow.",
                     *       "code": "conflict",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "conflict";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.providers.setApns": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description The 10-character Team ID of the Apple Developer account
                     * @example ABCDE12345
                     */
                    teamId: string;
                    /**
                     * @description The 10-character Key ID of the APNs auth key
                     * @example XYZ9876543
                     */
                    keyId: string;
                    /** @description The text of the AuthKey_<keyId>.p8 file (a PEM EC P-256 key); stored encrypted, never returned */
                    privateKey: string;
                    /**
                     * @description The app's bundle id: every notification's apns-topic
                     * @example com.example.chat
                     */
                    bundleId: string;
                    /** @description true: Apple's production host (App Store, TestFlight); false: the sandbox (development builds) */
                    production: boolean;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushProvider"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.providers.deleteApns": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.providers.setFcm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The service account's JSON key file (Firebase console → Project settings → Service accounts) */
                    serviceAccount: {
                        project_id: string;
                        client_email: string;
                        /** @description PEM RSA key; stored encrypted, never returned */
                        private_key: string;
                        token_uri?: string;
                        private_key_id?: string;
                    } & {
                        [key: string]: unknown;
                    };
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushProvider"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.providers.deleteFcm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.providers.setWebPush": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description How a push service reaches you about your notifications: a mailto: or https: URL (the VAPID `sub`)
                     * @example mailto:ops@example.com
                     */
                    subject: string;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushProvider"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.providers.deleteWebPush": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.providers.list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushProviderList"];
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "me.devices.list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushDeviceList"];
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "me.devices.register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @enum {string} */
                    provider: "apns" | "fcm" | "webpush";
                    /** @description APNs: the device token (hex); FCM: the registration token. Not with webpush. */
                    token?: string;
                    /** @description Web Push only: the browser's PushSubscription (subscription.toJSON()) */
                    subscription?: {
                        /** @description The push service URL of the browser's PushSubscription */
                        endpoint: string;
                        keys: {
                            /** @description 65-byte P-256 public key, base64url */
                            p256dh: string;
                            /** @description 16-byte auth secret, base64url */
                            auth: string;
                        };
                    };
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushDevice"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushDevice"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "me.devices.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.devices.list": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushDeviceList"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.devices.register": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                userId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @enum {string} */
                    provider: "apns" | "fcm" | "webpush";
                    /** @description APNs: the device token (hex); FCM: the registration token. Not with webpush. */
                    token?: string;
                    /** @description Web Push only: the browser's PushSubscription (subscription.toJSON()) */
                    subscription?: {
                        /** @description The push service URL of the browser's PushSubscription */
                        endpoint: string;
                        keys: {
                            /** @description 65-byte P-256 public key, base64url */
                            p256dh: string;
                            /** @description 16-byte auth secret, base64url */
                            auth: string;
                        };
                    };
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushDevice"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushDevice"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "users.devices.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                userId: string;
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.mute": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        /** @description Without `until`, muted until unmuted */
        requestBody?: {
            content: {
                "application/json": {
                    /**
                     * Format: date-time
                     * @example 2026-05-30T12:00:00.000Z
                     */
                    until?: string;
                };
            };
        };
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "conversations.unmute": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "push.deliveries.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
                /** @description Only this user's notifications */
                userId?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushDeliveryPage"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `insufficient_scope`, `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#insufficient_scope",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "The key or token lacks the scope the endpoint needs; detail names it.",
                     *       "code": "insufficient_scope",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "insufficient_scope" | "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "dashboard.session.get": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardSession"];
                };
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "dashboard.session.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The admin key (signs in as the operator) or a tenant secret key (signs in to its tenant and environment). Publishable keys and session tokens cannot sign in */
                    key: string;
                };
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardSession"];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "dashboard.session.delete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No Content */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad Request: `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "security.leakedKeys.report": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description At most 1,000 tokens (and 1 MiB) */
        requestBody?: {
            content: {
                /**
                 * @example [
                 *       {
                 *         "token": "sk_live_Qw3e…7uI9",
                 *         "type": "parley_secret_key",
                 *         "url": "https://github.com/acme/app/blob/abc123/.env",
                 *         "source": "content"
                 *       }
                 *     ]
                 */
                "application/json": {
                    /** @description The secret found: a Parley key (sk_live_…, sk_test_…, pk_live_…, pk_test_…) or anything a scanner took for one */
                    token: string;
                    /**
                     * @description The reporter’s name for the kind of secret; echoed as token_type
                     * @example parley_secret_key
                     */
                    type: string;
                    /**
                     * @description Where it was found
                     * @example https://github.com/acme/app/blob/abc123/.env
                     */
                    url: string;
                    /**
                     * @description What was scanned: content, commit, issue_comment…
                     * @example content
                     */
                    source: string;
                }[];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example [
                     *       {
                     *         "token_hash": "0f2c7d9e6b1a4c3f8e5d2b9a7c6e1f4d3b8a5c2e9f7d6b1a4c3e8f5d2b9a7c6e",
                     *         "token_type": "parley_secret_key",
                     *         "label": "true_positive"
                     *       }
                     *     ]
                     */
                    "application/json": components["schemas"]["LeakReportVerdict"][];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `invalid_signature` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_signature",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "A signed leak report whose signature is missing, names an unknown public key, or does not verify over the body as sent.",
                     *       "code": "invalid_signature",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_signature";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Not Found: `not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#not_found",
                     *       "title": "Not Found",
                     *       "status": 404,
                     *       "detail": "No such route, or no such resource in the caller's tenant and environment.",
                     *       "code": "not_found",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "not_found";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
    "admin.leakedKeys.report": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description At most 1,000 tokens (and 1 MiB) */
        requestBody?: {
            content: {
                "application/json": {
                    /** @description The secret found: a Parley key (sk_live_…, sk_test_…, pk_live_…, pk_test_…) or anything a scanner took for one */
                    token: string;
                    /**
                     * @description The reporter’s name for the kind of secret; echoed as token_type
                     * @example parley_secret_key
                     */
                    type: string;
                    /**
                     * @description Where it was found
                     * @example https://github.com/acme/app/blob/abc123/.env
                     */
                    url: string;
                    /**
                     * @description What was scanned: content, commit, issue_comment…
                     * @example content
                     */
                    source: string;
                }[];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeakReportVerdict"][];
                };
            };
            /** @description Bad Request: `invalid_request`, `validation_failed` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#invalid_request",
                     *       "title": "Bad Request",
                     *       "status": 400,
                     *       "detail": "Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.",
                     *       "code": "invalid_request",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "invalid_request" | "validation_failed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unauthorized: `authentication_required`, `invalid_api_key`, `invalid_token`, `token_expired`, `token_revoked`, `tenant_mismatch` */
            401: {
                headers: {
                    /** @description Bearer realm="parley", with error="invalid_token" for session-token failures */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#authentication_required",
                     *       "title": "Unauthorized",
                     *       "status": 401,
                     *       "detail": "No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).",
                     *       "code": "authentication_required",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "authentication_required" | "invalid_api_key" | "invalid_token" | "token_expired" | "token_revoked" | "tenant_mismatch";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Forbidden: `forbidden`, `key_type_not_allowed` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#forbidden",
                     *       "title": "Forbidden",
                     *       "status": 403,
                     *       "detail": "Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.",
                     *       "code": "forbidden",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "forbidden" | "key_type_not_allowed";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Payload Too Large: `payload_too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#payload_too_large",
                     *       "title": "Payload Too Large",
                     *       "status": 413,
                     *       "detail": "A body over 1 MiB.",
                     *       "code": "payload_too_large",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "payload_too_large";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Unsupported Media Type: `unsupported_media_type` */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unsupported_media_type",
                     *       "title": "Unsupported Media Type",
                     *       "status": 415,
                     *       "detail": "A body that is not application/json.",
                     *       "code": "unsupported_media_type",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unsupported_media_type";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Too Many Requests: `rate_limited` */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#rate_limited",
                     *       "title": "Too Many Requests",
                     *       "status": 429,
                     *       "detail": "Over the limit: wait Retry-After seconds.",
                     *       "code": "rate_limited",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "rate_limited";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Internal Server Error: `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#internal_error",
                     *       "title": "Internal Server Error",
                     *       "status": 500,
                     *       "detail": "A bug on our side. The body never carries its details; the request id finds them in the logs.",
                     *       "code": "internal_error",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "internal_error";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
            /** @description Service Unavailable: `unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "https://chat.example.com/docs/errors#unavailable",
                     *       "title": "Service Unavailable",
                     *       "status": 503,
                     *       "detail": "Storage or Redis did not answer: retry shortly.",
                     *       "code": "unavailable",
                     *       "requestId": "req_uKyTI3smkwlqcKrSRZ2cof"
                     *     }
                     */
                    "application/problem+json": {
                        /** @enum {string} */
                        code: "unavailable";
                    } & WithRequired<components["schemas"]["Problem"], "code">;
                };
            };
        };
    };
}
type WithRequired<T, K extends keyof T> = T & {
    [P in K]-?: T[P];
};
