/**
 * Files only the account running Parley may read (API.md §12): directories it creates get 0700,
 * files 0600, set with chmod because the mode given at creation is narrowed by the umask and a
 * permissive umask would leave secrets readable. (No-ops on Windows, which has no such modes.)
 */
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

const POSIX = process.platform !== 'win32'

/** A file that group or others may access, found where only its owner should. */
export class UnsafeFileError extends Error {
  constructor(readonly path: string, mode: number) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0')
    super(`Unsafe permissions: ${path} is accessible by group or others (mode ${octal}); run chmod 600 ${path}`)
    this.name = 'UnsafeFileError'
  }
}

/** Creates `dir` and its missing parents with mode 0700; directories that exist are left alone. */
export function ensurePrivateDir(dir: string): void {
  const target = resolve(dir)
  const firstCreated = mkdirSync(target, { recursive: true, mode: 0o700 })
  if (firstCreated === undefined || !POSIX) return
  for (let path = target; ; path = dirname(path)) {
    chmodSync(path, 0o700)
    if (path === firstCreated || path === dirname(path)) break
  }
}

/**
 * Creates `path` with mode 0600 holding `content` (empty by default); false when it exists already
 * (another process may have won the race: its file is then the one to use).
 */
export function createPrivateFile(path: string, content = ''): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    if (POSIX) fchmodSync(fd, 0o600)
    if (content) writeSync(fd, content)
  } finally {
    closeSync(fd)
  }
  return true
}

/** Narrows an existing file that group or others may access to 0600; absent files are ignored. */
export function makePrivate(path: string): void {
  if (!POSIX) return
  const mode = statSync(path, { throwIfNoEntry: false })?.mode
  if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(path, 0o600)
}

/** Throws UnsafeFileError when group or others may access `path`. */
export function assertPrivate(path: string): void {
  if (!POSIX) return
  const { mode } = statSync(path)
  if ((mode & 0o077) !== 0) throw new UnsafeFileError(path, mode)
}
