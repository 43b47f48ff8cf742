/** Acquires a WebGPU device with the adapter's real buffer limits, from any `GPU` object. */
import { BROWSER_HELP, DeviceLostError, WebGpuUnavailableError } from './errors.ts';

export interface AcquiredDevice {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  features: string[];
  /** Resolves when the device is lost, with a message naming the reason. */
  lost: Promise<DeviceLostError>;
}

/** Request an adapter and a device from `gpu`, raising WebGpuUnavailableError with `help` when there is none. */
export async function acquireDevice(gpu: GPU | undefined, help = BROWSER_HELP): Promise<AcquiredDevice> {
  if (!gpu) throw new WebGpuUnavailableError(`WebGPU is not available here (no navigator.gpu). ${help}`, 'no-api');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGpuUnavailableError(`WebGPU found no GPU adapter. ${help}`, 'no-adapter');
  const limits = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
  };
  const wanted: GPUFeatureName[] = ['timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: 'subspace', requiredLimits, requiredFeatures });
  } catch (e) {
    throw new WebGpuUnavailableError(`The GPU adapter refused to create a device: ${(e as Error).message}. ${help}`, 'no-device');
  }
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const lost = device.lost.then(
    (l) => new DeviceLostError(`The GPU device was lost (${l.reason}): ${(l.message || 'no message').replace(/\.+$/, '')}.`),
  );
  return {
    device,
    adapterInfo: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
    },
    features: [...device.features],
    lost,
  };
}
