// Builds the web UI (Preact) into dist/ui, which the server serves at /ui/ (npm run build).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // Everything is served by Beacon itself: no inlined data URLs needed, no external fonts.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
