// Vite config for the IAM web app. Built to web/dist, which iamd serves at /.
// `npm run dev:web` proxies /api and /v1 to a running iamd (IAM_DEV_API,
// default http://127.0.0.1:8080).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.IAM_DEV_API || 'http://127.0.0.1:8080';

export default defineConfig({
	root,
	plugins: [react()],
	build: {
		outDir: 'dist',
		emptyOutDir: true,
		target: 'es2022',
		// every browser we support has modulepreload; the polyfill would be dead code
		modulePreload: { polyfill: false },
		sourcemap: false,
		reportCompressedSize: true,
	},
	server: {
		proxy: {
			'/api': { target: api, changeOrigin: false },
			'/v1': { target: api, changeOrigin: false },
		},
	},
});
