/** The tenant record every authenticated caller carries. */

export interface RateLimit {
  limit: number
  windowSeconds: number
}

export interface Tenant {
  id: string
  name: string
  plan: string
  rateLimit: RateLimit | null
  suspended: boolean
  createdAt: string
  updatedAt: string
  deletedAt: string | null
}
