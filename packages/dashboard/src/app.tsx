/**
 * The dashboard: the sign-in form until the session cookie is there, then the shell with its
 * pages. The session lives only in the httpOnly cookie; the page asks the server who it is.
 */
import { useEffect, useState } from 'preact/hooks'
import { type Problem, type Session, sessionApi, whenUnauthorized } from './api'
import { Loading } from './components/states'
import { asProblem } from './components/use-resource'
import { Shell } from './shell'
import { SignIn } from './sign-in'

type State = { status: 'checking' } | { status: 'signed-out'; message?: string; problem?: Problem } | { status: 'signed-in'; session: Session }

export function App() {
  const [state, setState] = useState<State>({ status: 'checking' })

  useEffect(() => {
    sessionApi
      .current()
      .then((session) => setState({ status: 'signed-in', session }))
      .catch((error) => {
        const problem = asProblem(error)
        setState(problem.status === 401 ? { status: 'signed-out' } : { status: 'signed-out', problem })
      })
    // Any 401 from the API may mean the session ended (signed out elsewhere, its key revoked,
    // 12 hours passed): ask the server, and go back to the sign-in form if so.
    whenUnauthorized(() => {
      sessionApi.current().catch((error) => {
        if (asProblem(error).status === 401) setState({ status: 'signed-out', message: 'Your session has ended. Sign in again.' })
      })
    })
  }, [])

  if (state.status === 'checking') {
    return (
      <main id="main" class="centered">
        <Loading what="the dashboard" />
      </main>
    )
  }
  if (state.status === 'signed-out') {
    return <SignIn message={state.message} problem={state.problem} onSignedIn={(session) => setState({ status: 'signed-in', session })} />
  }
  return (
    <Shell
      session={state.session}
      onSignedOut={() => setState({ status: 'signed-out', message: 'You are signed out.' })}
    />
  )
}
