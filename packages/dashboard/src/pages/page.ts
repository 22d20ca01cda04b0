/** What every page gets from the shell. */
import type { Api, Environment, Session } from '../api'
import type { PageName, Route } from '../route'

export interface PageProps {
  api: Api
  route: Route
  session: Session
  environment: Environment
  /** Moves to another view of the same tenant and environment (an open user, a conversation…). */
  go(params: Record<string, string>, page?: PageName): void
  /** The href of such a view, for links. */
  hrefTo(params: Record<string, string>, page?: PageName): string
}
