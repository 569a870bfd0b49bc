/**
 * Builds the React UI into out/renderer. The same bundle is loaded by Electron (file://, hence
 * the relative base) and served by web mode (src/main/web/server.ts).
 */
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./src/renderer', import.meta.url));

/** Vite marks its tags crossorigin; under Electron's file:// that turns module loads into CORS requests that fail. */
function dropCrossorigin(): Plugin {
  return {
    name: 'parley:drop-crossorigin',
    enforce: 'post',
    transformIndexHtml: (html) => html.replace(/ crossorigin(?=[\s>])/g, ''),
  };
}

export default defineConfig({
  root,
  base: './',
  plugins: [react(), dropCrossorigin()],
  build: {
    outDir: fileURLToPath(new URL('./out/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome120',
    // A separate CSS file and no inline scripts keep the strict CSP (no 'unsafe-inline').
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
