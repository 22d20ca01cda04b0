/** A problem+json error as people read it: what went wrong (`detail`) and a request id to quote. */
import type { Problem } from '../api'
import { CopyField } from './copy-field'

export function ProblemMessage({ problem }: { problem: Problem | null | undefined }) {
  if (!problem) return null
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{problem.title}.</strong> {problem.detail}
      </p>
      {problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((error) => (
            <li key={error.param}>
              <code>{error.param}</code>: {error.message}
            </li>
          ))}
        </ul>
      )}
      {problem.requestId && <CopyField label="Request id" value={problem.requestId} />}
    </div>
  )
}
