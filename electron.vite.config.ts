/**
 * Desktop build: Electron main (ESM, dependencies external: they ship in node_modules, native
 * ones unpacked from the asar) and the sandboxed preload (CommonJS, everything bundled, since a
 * sandboxed preload cannot load modules). The renderer is the same build as web mode.
 */
import { defineConfig } from 'electron-vite';
import { fileURLToPath } from 'node:url';
import rendererConfig from './vite.renderer.config';

const path = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  main: {
    build: {
      outDir: path('./out/main'),
      externalizeDeps: true,
      rollupOptions: {
        input: { index: path('./src/main/electron/main.ts') },
        output: { format: 'es', entryFileNames: '[name].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: path('./out/preload'),
      externalizeDeps: false,
      rollupOptions: {
        input: { index: path('./src/preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: rendererConfig.root,
    base: rendererConfig.base,
    plugins: rendererConfig.plugins,
    build: {
      ...rendererConfig.build,
      minify: true,
      rollupOptions: { input: { index: path('./src/renderer/index.html') } },
    },
  },
});
