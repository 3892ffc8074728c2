// Vite config for the IAM web app. Built to web/dist, which iamd serves at /.
// `npm run dev:web` proxies /api and /v1 to a running iamd (IAM_DEV_API,
// default http://127.0.0.1:8080).
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.IAM_DEV_API || 'http://127.0.0.1:8080';

// The entry is small (it starts restoring the session at once) and imports
// the app dynamically; preload the app chunk from the HTML so that both
// download in parallel.
function preloadApp(): Plugin {
	return {
		name: 'iam-preload-app',
		apply: 'build',
		transformIndexHtml: {
			order: 'post',
			handler(_html, ctx) {
				const chunk = Object.values(ctx.bundle || {}).find((c) => c.type === 'chunk' && c.facadeModuleId?.endsWith('/src/render.tsx'));
				if (!chunk) return [];
				return [{ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: '', href: `/${chunk.fileName}` }, injectTo: 'head' }];
			},
		},
	};
}

export default defineConfig({
	root,
	plugins: [react(), preloadApp()],
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
