/** Users: find one by id, the list, and on a user its details, Revoke tokens and its conversations. */
import { useState } from 'preact/hooks'
import type { Page, Schemas } from '../api'
import { Fact } from '../components/facts'
import { formatTime } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { Empty, Loading, Notice } from '../components/states'
import { LoadMore, Table } from '../components/table'
import { usePages } from '../components/use-pages'
import { useAction, useResource } from '../components/use-resource'
import { ConversationRows } from './conversations'
import type { PageProps } from './page'

type User = Schemas['User']

export function UsersPage(props: PageProps) {
  return props.route.params.user ? <UserDetail {...props} userId={props.route.params.user} /> : <UserList {...props} />
}

function UserList({ api, go, hrefTo }: PageProps) {
  const users = usePages((cursor) => api.get<Page<User>>('/v1/users', { limit: 50, cursor }), [])
  const find = useAction()
  const list = users.items

  async function search(event: Event) {
    event.preventDefault()
    const id = String(new FormData(event.currentTarget as HTMLFormElement).get('id') ?? '').trim()
    if (!id) return
    const user = await find.run(() => api.get<User>(`/v1/users/${encodeURIComponent(id)}`))
    if (user) go({ user: user.id })
  }

  return (
    <section aria-labelledby="page-heading">
      <PageHeading title="Users" />
      <p class="lead">The people (and visitors) your backend registered. Open one to revoke its session tokens or read its conversations.</p>
      <form class="toolbar" role="search" aria-label="Users" onSubmit={search}>
        <div>
          <label for="user-search">User id</label>
          <input id="user-search" name="id" required maxLength={128} spellcheck={false} autocomplete="off" />
        </div>
        <button type="submit" disabled={find.busy}>
          Find user
        </button>
      </form>
      <ProblemMessage problem={find.problem ?? users.first.problem ?? users.more.problem} />
      {!list && users.first.loading && <Loading what="users" />}
      {list && list.length === 0 && <Empty title="No user yet.">Your backend registers users with POST /v1/users before minting their session tokens.</Empty>}
      {list && list.length > 0 && (
        <Table caption="Users" head={['Id', 'Display name', 'Kind', 'Created', 'Updated']}>
          {list.map((user) => (
            <tr key={user.id}>
              <td>
                <a href={hrefTo({ user: user.id })}>{user.id}</a>
              </td>
              <td>{user.displayName ?? user.username ?? '—'}</td>
              <td>{user.kind}</td>
              <td>{formatTime(user.createdAt)}</td>
              <td>{formatTime(user.updatedAt)}</td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore cursor={users.cursor} onMore={users.loadMore} busy={users.more.busy} />
    </section>
  )
}

function UserDetail({ api, userId, hrefTo }: PageProps & { userId: string }) {
  const user = useResource(() => api.get<User>(`/v1/users/${encodeURIComponent(userId)}`), [userId])
  const conversations = usePages(
    (cursor) => api.get<Page<Schemas['ConversationSummary']>>('/v1/conversations', { userId, limit: 50, cursor }),
    [userId],
  )
  const revoke = useAction()
  const [notice, setNotice] = useState<string | null>(null)

  async function revokeTokens() {
    setNotice(null)
    const done = await revoke.run(() => api.send<null>('POST', `/v1/users/${encodeURIComponent(userId)}/revoke-tokens`))
    if (done !== undefined) setNotice(`Every session token of ${userId} issued until now is revoked, and its open sockets are closed.`)
  }

  const data = user.data
  return (
    <section aria-labelledby="page-heading">
      <p class="back">
        <a href={hrefTo({})}>← All users</a>
      </p>
      <PageHeading title={`User ${userId}`}>
        <button type="button" class="danger" onClick={revokeTokens} disabled={revoke.busy || !data}>
          Revoke tokens
        </button>
      </PageHeading>
      <Notice text={notice} />
      <ProblemMessage problem={revoke.problem ?? user.problem} />
      {!data && user.loading && <Loading what="the user" />}
      {data && (
        <dl class="facts">
          <Fact term="Display name">{data.displayName ?? '—'}</Fact>
          <Fact term="Username">{data.username ?? '—'}</Fact>
          <Fact term="Kind">{data.kind}</Fact>
          <Fact term="Created">{formatTime(data.createdAt)}</Fact>
          <Fact term="Updated">{formatTime(data.updatedAt)}</Fact>
          {data.metadata && (
            <Fact term="Metadata">
              <code>{JSON.stringify(data.metadata)}</code>
            </Fact>
          )}
        </dl>
      )}
      <h2>Conversations</h2>
      <ProblemMessage problem={conversations.first.problem ?? conversations.more.problem} />
      {!conversations.items && conversations.first.loading && <Loading what="conversations" />}
      {conversations.items && conversations.items.length === 0 && <Empty title={`${userId} is in no conversation.`} />}
      {conversations.items && conversations.items.length > 0 && <ConversationRows caption={`Conversations of ${userId}`} conversations={conversations.items} hrefTo={hrefTo} withUnread />}
      <LoadMore cursor={conversations.cursor} onMore={conversations.loadMore} busy={conversations.more.busy} />
    </section>
  )
}
