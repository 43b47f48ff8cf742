/** Node host: WebGPU through the `webgpu` package (Dawn), on SwiftShader when no Vulkan driver is configured. */
import { existsSync } from 'node:fs';
import { acquireDevice, type AcquiredDevice } from './device.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const NODE_HELP =
  'In Node, Subspace uses the `webgpu` package (Dawn) on Vulkan. Without a GPU driver install Debian\'s ' +
  '`chromium` and `libvulkan1` packages (their SwiftShader is used automatically), or set VK_ICD_FILENAMES ' +
  'to your Vulkan driver\'s ICD file.';

/** Create a device in Node. Sets VK_ICD_FILENAMES to Chromium's SwiftShader when nothing else is configured. */
/** Dawn instances in use. Kept reachable on purpose: a collected instance takes its devices down mid-run. */
const instances: unknown[] = [];

export async function acquireNodeDevice(): Promise<AcquiredDevice> {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]) as GPU;
  instances.push(gpu);
  return acquireDevice(gpu, NODE_HELP);
}
