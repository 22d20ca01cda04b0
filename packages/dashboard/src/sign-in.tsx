/**
 * The sign-in form. The key goes to the server once, in the body of POST /v1/dashboard/session,
 * which answers with an httpOnly cookie. The field is emptied before the request is even sent,
 * and the key is never put in state, storage or the URL.
 */
import { useEffect, useRef } from 'preact/hooks'
import { type Problem, type Session, sessionApi } from './api'
import { ProblemMessage } from './components/problem'
import { useAction } from './components/use-resource'

export function SignIn({ message, problem, onSignedIn }: { message?: string; problem?: Problem; onSignedIn: (session: Session) => void }) {
  const field = useRef<HTMLInputElement>(null)
  const action = useAction()

  useEffect(() => {
    document.title = 'Sign in · Parley dashboard'
    field.current?.focus()
  }, [])

  async function submit(event: Event) {
    event.preventDefault()
    const input = field.current!
    const key = input.value.trim()
    input.value = ''
    if (!key) return
    const session = await action.run(() => sessionApi.signIn(key))
    if (session) onSignedIn(session)
    else input.focus()
  }

  return (
    <main id="main" class="sign-in">
      <div class="card">
        <h1 id="page-heading" tabIndex={-1}>
          Parley dashboard
        </h1>
        {message && (
          <p class="notice" role="status">
            {message}
          </p>
        )}
        <form onSubmit={submit} autocomplete="off">
          <label for="api-key">API key</label>
          <input id="api-key" ref={field} type="password" name="api-key" autocomplete="off" spellcheck={false} aria-describedby="api-key-hint" required />
          <p id="api-key-hint" class="hint">
            The admin key signs in as the operator (every tenant). A tenant’s secret key (sk_live_… or sk_test_…) signs in to that tenant and
            environment. The key is exchanged for a session of 12 hours and not kept by the browser.
          </p>
          <button type="submit" disabled={action.busy}>
            Sign in
          </button>
        </form>
        <ProblemMessage problem={action.problem ?? problem} />
      </div>
    </main>
  )
}
