/**
 * What a notification says (API.md §10): the title is the conversation's name, else the sender's
 * display name, else its id; the body is the message text cut to 180 characters.
 */
import type { PushMessage } from './provider.js'

export const BODY_MAX_CHARACTERS = 180

/**
 * The text cut to 180 characters: the first 179 and `…`. Characters are Unicode code points, so a
 * cut never splits an emoji's surrogate pair into a broken character.
 */
export function bodyOf(text: string): string {
  if (text.length <= BODY_MAX_CHARACTERS) return text
  const characters = Array.from(text)
  return characters.length <= BODY_MAX_CHARACTERS ? text : `${characters.slice(0, BODY_MAX_CHARACTERS - 1).join('')}…`
}

export function titleOf(conversationName: string | null, senderDisplayName: string | null, senderId: string): string {
  return conversationName || senderDisplayName || senderId
}

export interface MessageFacts {
  conversationId: string
  messageId: string
  seq: number
  text: string
  conversationName: string | null
  senderDisplayName: string | null
  senderId: string
}

export function pushMessageOf(facts: MessageFacts, unread: number): PushMessage {
  return {
    title: titleOf(facts.conversationName, facts.senderDisplayName, facts.senderId),
    body: bodyOf(facts.text),
    conversationId: facts.conversationId,
    messageId: facts.messageId,
    seq: facts.seq,
    unread,
  }
}
