/**
 * Loads what a page shows and keeps the latest answer: a request started for older inputs
 * (a tenant or environment the user has since left) never overwrites a newer one.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { Problem } from '../api'

export interface Resource<T> {
  data: T | undefined
  problem: Problem | null
  loading: boolean
  reload(): Promise<void>
  setData(data: T): void
}

export function useResource<T>(load: () => Promise<T>, inputs: unknown[]): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [problem, setProblem] = useState<Problem | null>(null)
  const [loading, setLoading] = useState(true)
  const generation = useRef(0)
  const loadRef = useRef(load)
  loadRef.current = load

  const reload = useCallback(async () => {
    const mine = ++generation.current
    setLoading(true)
    try {
      const answer = await loadRef.current()
      if (mine !== generation.current) return
      setData(answer)
      setProblem(null)
    } catch (error) {
      if (mine !== generation.current) return
      setProblem(asProblem(error))
    } finally {
      if (mine === generation.current) setLoading(false)
    }
  }, [])

  useEffect(() => {
    setData(undefined)
    void reload()
    return () => {
      generation.current++
    }
  }, inputs)

  return { data, problem, loading, reload, setData }
}

export function asProblem(error: unknown): Problem {
  if (error instanceof Problem) return error
  return new Problem({ status: 0, title: 'Unexpected error', detail: error instanceof Error ? error.message : String(error), code: 'client_error' }, null)
}

/** An action's state: busy while it runs, its problem if it failed. */
export function useAction(): { busy: boolean; problem: Problem | null; run<T>(action: () => Promise<T>): Promise<T | undefined>; clear(): void } {
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<Problem | null>(null)
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true)
    setProblem(null)
    try {
      return await action()
    } catch (error) {
      setProblem(asProblem(error))
      return undefined
    } finally {
      setBusy(false)
    }
  }, [])
  return { busy, problem, run, clear: () => setProblem(null) }
}
