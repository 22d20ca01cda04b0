/** A plan: what a tenant may have (keys per environment) and its default request rate. */
export interface PlanConfig {
  /** Active keys per environment; null = unlimited. */
  keysPerEnvironment: number | null
  rateLimit: { limit: number; windowSeconds: number }
}
