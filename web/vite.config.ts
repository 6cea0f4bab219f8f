// Builds the studio (web/) into dist/web with the library's own source (src/). In the browser,
// '@tensorflow/tfjs' resolves to src/tf-browser.ts: tfjs-core with its gradients and chained ops and
// the cpu and WebGL backends (wasm and WebGPU load on demand) — without tfjs-layers, -converter and
// -data, which lia does not use. The build fails if anything would pull in a Node built-in.
import { defineConfig, type Plugin } from 'vite';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

const here = fileURLToPath(new URL('.', import.meta.url));
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Fails the build when the studio's or the library's own code imports a Node built-in. */
function noNodeBuiltins(): Plugin {
  return {
    name: 'lia-no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if ((builtins.has(id) || id.startsWith('node:')) && importer && !importer.includes('/node_modules/')) {
        this.error(`${relative(process.cwd(), importer)} imports the Node built-in '${id}': the browser build must not`);
      }
      return null;
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  resolve: {
    alias: [{ find: /^@tensorflow\/tfjs$/, replacement: fileURLToPath(new URL('./src/tf-browser.ts', import.meta.url)) }],
  },
  plugins: [noNodeBuiltins()],
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
    rollupOptions: {
      onwarn(warning, warn) {
        // A dependency importing a Node built-in that its package does not map away for browsers.
        if (warning.message.includes('externalized for browser compatibility')) throw new Error(`browser build: ${warning.message}`);
        warn(warning);
      },
    },
  },
});
