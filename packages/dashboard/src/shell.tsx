/**
 * The signed-in frame: who is signed in, the operator's tenant picker, the Environment switch,
 * Sign out, the navigation landmark, and the page the URL names.
 */
import { useEffect, useId } from 'preact/hooks'
import { type Environment, type Page, type Schemas, type Session, apiFor, request, sessionApi } from './api'
import { ProblemMessage } from './components/problem'
import { Empty } from './components/states'
import { useAction, useResource } from './components/use-resource'
import { ConversationsPage } from './pages/conversations'
import { KeysPage } from './pages/keys'
import type { PageProps } from './pages/page'
import { PushPage } from './pages/push'
import { TenantsPage } from './pages/tenants'
import { UsagePage } from './pages/usage'
import { UsersPage } from './pages/users'
import { WebhooksPage } from './pages/webhooks'
import { type PageName, type Route, hrefOf, navigate, useRoute } from './route'

const LABELS: Record<PageName, string> = {
  tenants: 'Tenants',
  keys: 'API keys',
  usage: 'Usage',
  users: 'Users',
  conversations: 'Conversations',
  webhooks: 'Webhooks',
  push: 'Push',
}

export function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const url = useRoute()
  const operator = session.kind === 'operator'
  // A tenant session shows its own tenant and environment whatever the URL says.
  const route: Route = operator ? url : { ...url, tenant: session.tenant?.id ?? null, env: session.environment ?? 'live' }
  const page: PageName = route.page ?? (operator ? 'tenants' : 'keys')
  const tenants = useResource(
    () => (operator ? request<Page<Schemas['Tenant']>>('GET', '/v1/admin/tenants', { query: { limit: 200 } }) : Promise.resolve({ data: [], nextCursor: null })),
    [operator],
  )
  const signOut = useAction()

  // A URL naming no page gets the default one, and a tenant session's URL names its own tenant and
  // environment: in place, with no extra history entry.
  useEffect(() => {
    if (!url.page || url.tenant !== route.tenant || url.env !== route.env) navigate({ ...route, page }, { replace: true })
  }, [url.page, url.tenant, url.env])

  // A new view starts at its heading (not on environment or tenant switches: focus stays on the switch).
  const { user = '', conversation = '', endpoint = '' } = route.params
  const view = `${page}/${user}/${conversation}/${endpoint}`
  useEffect(() => {
    document.getElementById('page-heading')?.focus()
  }, [view])

  async function leave() {
    const done = await signOut.run(() => sessionApi.signOut())
    if (done !== undefined) onSignedOut()
  }

  const to = (target: Partial<Route>) => hrefOf({ ...route, page, params: {}, ...target })
  const props: PageProps = {
    api: apiFor(session, route.tenant, route.env),
    route,
    session,
    environment: route.env,
    go: (params, next = page) => navigate({ ...route, page: next, params }),
    hrefTo: (params, next = page) => to({ page: next, params }),
  }
  const tenantName = operator ? tenants.data?.data.find((tenant) => tenant.id === route.tenant)?.name : session.tenant?.name

  return (
    <div class={`shell env-${route.env}`}>
      <button type="button" class="skip-link" onClick={() => document.getElementById('page-heading')?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          <span>Parley</span>
          <span class="who">{operator ? 'Operator' : `${session.tenant?.name ?? 'Tenant'} (tenant key)`}</span>
        </div>
        <div class="controls">
          {operator && <TenantPicker tenants={tenants.data?.data ?? []} current={route.tenant} onPick={(tenant) => navigate({ ...route, page, tenant, params: {} })} />}
          <EnvironmentSwitch session={session} value={route.env} onChange={(env) => navigate({ ...route, page, env, params: {} })} />
          <button type="button" class="secondary" onClick={leave} disabled={signOut.busy}>
            Sign out
          </button>
        </div>
      </header>
      {route.env === 'test' && <p class="test-banner">Test environment: data here is separate from live and never reaches real push providers.</p>}
      <ProblemMessage problem={signOut.problem ?? tenants.problem} />
      <nav aria-label="Dashboard" class="nav">
        <ul>
          {(Object.keys(LABELS) as PageName[])
            .filter((name) => operator || name !== 'tenants')
            .map((name) => (
              <li key={name}>
                <a href={to({ page: name })} aria-current={name === page ? 'page' : undefined}>
                  {LABELS[name]}
                </a>
              </li>
            ))}
        </ul>
      </nav>
      <main id="main" class="main">
        {tenantName && page !== 'tenants' && (
          <p class="context">
            {tenantName} · {route.env === 'live' ? 'Live' : 'Test'}
          </p>
        )}
        <PageBody page={page} props={props} operator={operator} tenants={tenants} pickHref={to({ page: 'tenants' })} />
      </main>
    </div>
  )
}

function PageBody({ page, props, operator, tenants, pickHref }: { page: PageName; props: PageProps; operator: boolean; tenants: ReturnType<typeof useResource<Page<Schemas['Tenant']>>>; pickHref: string }) {
  if (page === 'tenants') {
    if (!operator) return <Empty title="Only the operator manages tenants.">Sign in with the admin key to see them.</Empty>
    return <TenantsPage {...props} tenants={tenants} />
  }
  if (operator && !props.route.tenant) {
    return (
      <>
        <h1 id="page-heading" tabIndex={-1}>
          {LABELS[page]}
        </h1>
        <Empty title="Pick a tenant first.">
          Choose one in the Tenant list at the top, or open one from the <a href={pickHref}>Tenants</a> page (where you can also create one).
        </Empty>
      </>
    )
  }
  const key = `${props.route.tenant}/${props.route.env}`
  switch (page) {
    case 'keys':
      return <KeysPage key={key} {...props} />
    case 'usage':
      return <UsagePage key={key} {...props} />
    case 'users':
      return <UsersPage key={key} {...props} />
    case 'conversations':
      return <ConversationsPage key={key} {...props} />
    case 'webhooks':
      return <WebhooksPage key={key} {...props} />
    case 'push':
      return <PushPage key={key} {...props} />
  }
}

function TenantPicker({ tenants, current, onPick }: { tenants: Schemas['Tenant'][]; current: string | null; onPick: (tenant: string | null) => void }) {
  const known = tenants.some((tenant) => tenant.id === current)
  return (
    <div class="picker">
      <label for="tenant-picker">Tenant</label>
      <select id="tenant-picker" value={current ?? ''} onChange={(event) => onPick(event.currentTarget.value || null)}>
        <option value="">Choose a tenant…</option>
        {current && !known && <option value={current}>{current}</option>}
        {tenants.map((tenant) => (
          <option key={tenant.id} value={tenant.id}>
            {tenant.name} ({tenant.id})
          </option>
        ))}
      </select>
    </div>
  )
}

/**
 * Live or Test. The operator switches freely (x-environment); a tenant session is bound to its
 * key's environment, so the other one is shown as unavailable, with the reason.
 */
function EnvironmentSwitch({ session, value, onChange }: { session: Session; value: Environment; onChange: (env: Environment) => void }) {
  const id = useId()
  const bound = session.kind === 'tenant' ? session.environment : null
  const option = (env: Environment, label: string) => {
    const unavailable = bound !== null && bound !== env
    return (
      <label class={unavailable ? 'radio unavailable' : 'radio'}>
        <input type="radio" name={`${id}-choice`} value={env} checked={value === env} disabled={unavailable} aria-describedby={unavailable ? `${id}-why` : undefined} onChange={() => onChange(env)} />
        {label}
      </label>
    )
  }
  return (
    <fieldset class="environment" role="radiogroup" aria-labelledby={`${id}-legend`}>
      <legend id={`${id}-legend`}>Environment</legend>
      <div class="radios">
        {option('live', 'Live')}
        {option('test', 'Test')}
      </div>
      {bound && (
        <p id={`${id}-why`} class="hint">
          This session belongs to a {bound} key, so only {bound === 'live' ? 'Live' : 'Test'} is available. Sign in with a {bound === 'live' ? 'test' : 'live'} key to
          see the other environment.
        </p>
      )}
    </fieldset>
  )
}
