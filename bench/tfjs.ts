/**
 * The peer: @tensorflow/tfjs-backend-webgpu in Node, on the `webgpu` package (Dawn).
 * tfjs registers its 'webgpu' backend at import time only if `navigator.gpu` exists, and its factory
 * calls navigator.gpu.requestAdapter(). Node has no navigator (Node 20) or one without `gpu` (21+),
 * so we install the `webgpu` package's GPU object as navigator.gpu before importing the backend.
 * Call after our own device exists: acquireNodeDevice has set VK_ICD_FILENAMES (SwiftShader here),
 * so both devices come from the same adapter.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

export interface TfPeer {
  tf: typeof TfCore;
  backend: WebGPUBackend;
  /** Adapter description, to print next to ours. */
  adapter: string;
  /** Submit everything tfjs has queued and wait until the GPU has finished it. */
  finish(): Promise<void>;
}

export async function setupTfjs(): Promise<TfPeer> {
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]);
  const g = globalThis as { navigator?: object };
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.assign(Object.create(g.navigator ?? null), { gpu }),
    configurable: true,
    writable: true,
  });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise');
  await tf.ready();
  const backend = tf.backend() as WebGPUBackend;
  const info = backend.adapterInfo as unknown as { vendor?: string; architecture?: string };
  return {
    tf,
    backend,
    adapter: `${info.vendor ?? '?'} ${info.architecture ?? '?'}`,
    async finish() {
      // As tfjs does before a readback: close its open compute pass, then submit.
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.submitQueue();
      await backend.device.queue.onSubmittedWorkDone();
    },
  };
}
