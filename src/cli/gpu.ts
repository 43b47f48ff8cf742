/** The Node GPU for CLI commands. */
import { Gpu } from '../gpu/gpu.ts';
import { acquireNodeDevice } from '../gpu/node-device.ts';

export async function openGpu(): Promise<Gpu> {
  return new Gpu(await acquireNodeDevice());
}
