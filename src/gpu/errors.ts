/** Errors raised by the GPU layer, each with a message a person can act on. */

/** No WebGPU at all, no adapter, or a device that could not be created. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string, readonly reason: 'no-api' | 'no-adapter' | 'no-device') {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

/** The device was lost (driver reset, out of memory, tab in background too long...). */
export class DeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

/** A WGSL compile or pipeline/dispatch validation failure, naming the kernel it came from. */
export class KernelError extends Error {
  constructor(readonly kernel: string, message: string) {
    super(`kernel "${kernel}": ${message}`);
    this.name = 'KernelError';
  }
}

export const BROWSER_HELP =
  'Subspace needs WebGPU. Use a current Chrome, Edge or Chromium (113 or newer) on a machine with a ' +
  'supported GPU driver; on Linux start it with --enable-unsafe-webgpu --enable-features=Vulkan, ' +
  'and check chrome://gpu that "WebGPU" is "Hardware accelerated". The page must be served from ' +
  'https:// or http://localhost.';
