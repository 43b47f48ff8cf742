import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  // The engine worker's imports are found only when it runs: pre-bundle them up front (a cold start otherwise
  // re-bundles mid-load and the page's first imports fail with 504). onnxruntime-web is served as published,
  // so its bundle finds its WASM binary next to itself.
  optimizeDeps: { include: ['@huggingface/transformers', 'fflate', 'onnx-proto'], exclude: ['onnxruntime-web'] },
  server: { host: '127.0.0.1', fs: { allow: ['.', '../shared'] } },
  test: {
    include: ['tests/**/*.test.ts'],
    // The JSON report is what .ci/run reads for its closing "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    // Each test file's engine (Dawn on SwiftShader) keeps about one core busy: two files at a time on two cores.
    // Every file opens its own device, browser and Vite server, so files share nothing but the machine.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
