/** The Node GPU for CLI commands, with matmul variants tuned for its adapter. */
import { Gpu } from '../gpu/gpu.ts';
import { acquireNodeDevice } from '../gpu/node-device.ts';
import { autotuneMatmul } from './autotune.ts';

export async function openGpu(): Promise<Gpu> {
  const gpu = new Gpu(await acquireNodeDevice());
  await autotuneMatmul(gpu); // a no-op on SwiftShader, whose rule is measured and fixed
  return gpu;
}
