import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Everything the page loads is bundled here; the server adds nothing from elsewhere.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:5280' },
  },
});
