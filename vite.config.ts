import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  server: { host: '127.0.0.1', fs: { allow: ['.', '../shared'] } },
  test: {
    include: ['tests/**/*.test.ts'],
    // GPU tests share one software adapter on two cores: run files one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
