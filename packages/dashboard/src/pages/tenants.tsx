/** Tenants (operator only): the list, and Create tenant, which shows both new secret keys once. */
import { useState } from 'preact/hooks'
import type { Page, Schemas } from '../api'
import { Dialog } from '../components/dialog'
import { DialogActions } from '../components/dialog-actions'
import { formatTime } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { SecretDialog } from '../components/secret-dialog'
import { Empty, Loading } from '../components/states'
import { Table } from '../components/table'
import { type Resource, useAction } from '../components/use-resource'
import { hrefOf } from '../route'
import type { PageProps } from './page'

const PLANS = ['free', 'starter', 'pro', 'enterprise']

interface Created {
  tenant: Schemas['Tenant']
  keys: { live: Schemas['KeyWithSecret']; test: Schemas['KeyWithSecret'] }
}

export function TenantsPage({ api, route, tenants }: PageProps & { tenants: Resource<Page<Schemas['Tenant']>> }) {
  const [creating, setCreating] = useState(false)
  const [created, setCreated] = useState<Created | null>(null)
  const list = tenants.data?.data
  const open = (id: string) => hrefOf({ ...route, page: 'keys', tenant: id, params: {} })

  return (
    <section aria-labelledby="page-heading">
      <PageHeading title="Tenants">
        <button type="button" onClick={() => setCreating(true)}>
          Create tenant
        </button>
      </PageHeading>
      <p class="lead">Each tenant is one customer of this Parley, with its own keys, users and data in a live and a test environment.</p>
      <ProblemMessage problem={tenants.problem} />
      {!list && tenants.loading && <Loading what="tenants" />}
      {list && list.length === 0 && <Empty title="No tenant yet.">Create one with Create tenant: you get a secret key for each environment to hand to its backend.</Empty>}
      {list && list.length > 0 && (
        <Table caption="Tenants" head={['Name', 'Id', 'Plan', 'Status', 'Created']}>
          {list.map((tenant) => (
            <tr key={tenant.id}>
              <td>
                <a href={open(tenant.id)}>{tenant.name}</a>
              </td>
              <td>
                <code>{tenant.id}</code>
              </td>
              <td>{tenant.plan}</td>
              <td>{tenant.suspended ? <span class="badge bad">Suspended</span> : <span class="badge good">Active</span>}</td>
              <td>{formatTime(tenant.createdAt)}</td>
            </tr>
          ))}
        </Table>
      )}
      {creating && (
        <CreateTenant
          onClose={() => setCreating(false)}
          onCreated={(answer) => {
            setCreating(false)
            setCreated(answer)
            void tenants.reload()
          }}
          create={(body) => api.send<Created>('POST', '/v1/admin/tenants', body)}
        />
      )}
      {created && (
        <SecretDialog
          title={`Tenant ${created.tenant.name} created`}
          intro="Its two secret keys are below, one per environment."
          secrets={{ 'Live secret key': created.keys.live.key, 'Test secret key': created.keys.test.key }}
          onDone={() => setCreated(null)}
          actions={
            <a class="button secondary" href={open(created.tenant.id)} onClick={() => setCreated(null)}>
              Open tenant
            </a>
          }
        />
      )}
    </section>
  )
}

function CreateTenant({ onClose, onCreated, create }: { onClose: () => void; onCreated: (created: Created) => void; create: (body: { name: string; plan: string }) => Promise<Created> }) {
  const action = useAction()
  async function submit(event: Event) {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const answer = await action.run(() => create({ name: String(form.get('name')).trim(), plan: String(form.get('plan')) }))
    if (answer) onCreated(answer)
  }
  return (
    <Dialog title="Create tenant" onClose={onClose}>
      <form onSubmit={submit}>
        <label for="tenant-name">Name</label>
        <input id="tenant-name" name="name" required maxLength={200} autocomplete="organization" />
        <label for="tenant-plan">Plan</label>
        <select id="tenant-plan" name="plan" aria-describedby="tenant-plan-hint">
          {PLANS.map((plan) => (
            <option key={plan} value={plan}>
              {plan}
            </option>
          ))}
        </select>
        <p id="tenant-plan-hint" class="hint">
          The plan sets how many keys each environment may have and their default rate limit.
        </p>
        <DialogActions label="Create" action={action} onCancel={onClose} />
      </form>
    </Dialog>
  )
}
