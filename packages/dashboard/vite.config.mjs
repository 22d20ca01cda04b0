// Builds the dashboard into dist/, which the server serves at /dashboard/ under a strict
// Content-Security-Policy (script-src 'self'; style-src 'self'): so no inline script (the
// module-preload polyfill would be one), no inlined assets, and one external stylesheet.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  // Preact's automatic JSX runtime, without the preset's Babel and dev-only plugins.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
})
