/**
 * Conversations: the list (last activity first) and, opened, one conversation's members and
 * messages, oldest at the top of the page loaded; Load older messages fetches the page before it.
 */
import { useState } from 'preact/hooks'
import type { Page, Schemas } from '../api'
import { Fact } from '../components/facts'
import { formatTime } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { Empty, Loading } from '../components/states'
import { LoadMore, Table } from '../components/table'
import { usePages } from '../components/use-pages'
import { useAction, useResource } from '../components/use-resource'
import type { PageProps } from './page'

type Summary = Schemas['ConversationSummary']
type Message = Schemas['Message']
const HISTORY_PAGE = 50

export function ConversationsPage(props: PageProps) {
  return props.route.params.conversation ? <ConversationView {...props} conversationId={props.route.params.conversation} /> : <ConversationList {...props} />
}

function ConversationList({ api, hrefTo }: PageProps) {
  const conversations = usePages((cursor) => api.get<Page<Summary>>('/v1/conversations', { limit: 50, cursor }), [])
  const list = conversations.items
  return (
    <section aria-labelledby="page-heading">
      <PageHeading title="Conversations" />
      <p class="lead">Every conversation of this environment, the most recently active first. Open one to read its history.</p>
      <ProblemMessage problem={conversations.first.problem ?? conversations.more.problem} />
      {!list && conversations.first.loading && <Loading what="conversations" />}
      {list && list.length === 0 && <Empty title="No conversation yet.">They appear here once your users or your backend create them (POST /v1/conversations).</Empty>}
      {list && list.length > 0 && <ConversationRows caption="Conversations" conversations={list} hrefTo={hrefTo} />}
      <LoadMore cursor={conversations.cursor} onMore={conversations.loadMore} busy={conversations.more.busy} />
    </section>
  )
}

/** The conversations table (also on a user's page, with its unread counts). */
export function ConversationRows({ caption, conversations, hrefTo, withUnread }: { caption: string; conversations: Summary[]; hrefTo: PageProps['hrefTo']; withUnread?: boolean }) {
  const head = ['Conversation', 'Type', 'Last message', 'Messages', ...(withUnread ? ['Unread'] : []), 'Last activity']
  return (
    <Table caption={caption} head={head}>
      {conversations.map((conversation) => (
        <tr key={conversation.id}>
          <td>
            <a href={hrefTo({ conversation: conversation.id }, 'conversations')}>{conversation.name ?? conversation.id}</a>
          </td>
          <td>{conversation.type}</td>
          <td class="clip">{conversation.lastMessage ? `${conversation.lastMessage.senderId}: ${preview(conversation.lastMessage)}` : '—'}</td>
          <td>{conversation.lastSeq}</td>
          {withUnread && <td>{conversation.unreadCount ?? 0}</td>}
          <td>{formatTime(conversation.lastActivityAt)}</td>
        </tr>
      ))}
    </Table>
  )
}

function preview(message: Message): string {
  if (message.deletedAt) return '(deleted)'
  return message.text.length > 80 ? `${message.text.slice(0, 79)}…` : message.text
}

function ConversationView({ api, conversationId, hrefTo }: PageProps & { conversationId: string }) {
  const path = `/v1/conversations/${encodeURIComponent(conversationId)}`
  const conversation = useResource(() => api.get<Schemas['Conversation']>(path), [conversationId])
  const [older, setOlder] = useState<Message[]>([])
  const [hasMore, setHasMore] = useState(false)
  const latest = useResource(async () => {
    const page = await api.get<Schemas['MessageHistory']>(`${path}/messages`, { limit: HISTORY_PAGE })
    setOlder([])
    setHasMore(page.hasMore)
    return page
  }, [conversationId])
  const loadOlder = useAction()
  const messages = latest.data ? [...older, ...latest.data.data] : undefined

  async function more() {
    const before = messages?.[0]?.seq
    if (!before) return
    const page = await loadOlder.run(() => api.get<Schemas['MessageHistory']>(`${path}/messages`, { limit: HISTORY_PAGE, before }))
    if (page) {
      setOlder((earlier) => [...page.data, ...earlier])
      setHasMore(page.hasMore)
    }
  }

  const data = conversation.data
  return (
    <section aria-labelledby="page-heading">
      <p class="back">
        <a href={hrefTo({})}>← All conversations</a>
      </p>
      <PageHeading title={`Conversation ${data?.name ?? conversationId}`} />
      <ProblemMessage problem={conversation.problem} />
      {data && (
        <dl class="facts">
          <Fact term="Id">
            <code>{data.id}</code>
          </Fact>
          <Fact term="Type">{data.type}</Fact>
          <Fact term="Members">
            {data.members.map((member, index) => (
              <span key={member.userId}>
                {index > 0 && ', '}
                <a href={hrefTo({ user: member.userId }, 'users')}>{member.userId}</a>
                {member.role === 'owner' && ' (owner)'}
              </span>
            ))}
          </Fact>
          <Fact term="Created">{formatTime(data.createdAt)}</Fact>
        </dl>
      )}
      <h2 id="messages-heading">Messages</h2>
      <ProblemMessage problem={latest.problem ?? loadOlder.problem} />
      {!messages && latest.loading && <Loading what="messages" />}
      {messages && messages.length === 0 && <Empty title="No message yet." />}
      {messages && messages.length > 0 && (
        <>
          {hasMore && (
            <button type="button" class="secondary" onClick={more} disabled={loadOlder.busy}>
              {loadOlder.busy ? 'Loading…' : 'Load older messages'}
            </button>
          )}
          <ol class="messages" aria-labelledby="messages-heading">
            {messages.map((message) => (
              <li key={message.id} class={message.deletedAt ? 'deleted' : undefined}>
                <p class="meta">
                  <strong>{message.senderId}</strong> · <time dateTime={message.createdAt}>{formatTime(message.createdAt, '', { seconds: true })}</time> · #{message.seq}
                  {message.editedAt && ' · edited'}
                </p>
                <p class="text">{message.deletedAt ? '(deleted)' : message.text}</p>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  )
}
