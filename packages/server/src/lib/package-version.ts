import { readFileSync } from 'node:fs'

/**
 * The server package's version, from its package.json: the one `npm install` put there, so
 * `parley --version` can never disagree with it. The sources (src/lib/) and the build (dist/lib/)
 * both sit two levels below that file.
 */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
