/** pg and ioredis are optional peers: a missing one is named, with the setting that needs it. */
import { describe, expect, it } from 'vitest'
import { loadOptionalPackage } from '../src/lib/optional-package.js'

describe('optional packages', () => {
  it('loads an installed package', async () => {
    const pg = await loadOptionalPackage<{ default: { Client: unknown } }>('pg', 'A postgres:// PARLEY_DATABASE_URL')
    expect(typeof pg.default.Client).toBe('function')
  })

  it('names a missing package, the setting that asked for it and how to install it', async () => {
    await expect(loadOptionalPackage('parley-no-such-package', 'PARLEY_REDIS_URL')).rejects.toThrow(
      'PARLEY_REDIS_URL needs the "parley-no-such-package" package, which is not installed: run npm install parley-no-such-package',
    )
  })
})
