/** Explains what is missing when there is no WebGPU, and how to get it. */
import { useAppStore } from '../../store/store.ts';
import type { UnavailableReason } from '../../workers/protocol.ts';

const HEADLINE: Record<UnavailableReason, string> = {
  'no-api': 'This browser does not offer WebGPU',
  'no-adapter': 'WebGPU found no usable GPU adapter',
  'no-device': 'The GPU adapter refused to start a device',
};

const WHAT: Record<UnavailableReason, string> = {
  'no-api':
    'The page has no navigator.gpu: the browser is too old, WebGPU is switched off, or the page is not a secure context.',
  'no-adapter':
    'The browser supports WebGPU but found no GPU it is willing to use: the driver is blocklisted, WebGPU is behind a flag on this platform, or there is no GPU.',
  'no-device': 'An adapter was found, but it could not create a device with the limits Subspace needs.',
};

export function WebGpuMissing() {
  const info = useAppStore((s) => s.unavailable);
  if (!info) return null;
  const secure = window.isSecureContext;
  return (
    <section className="panel panel-warning" aria-labelledby="webgpu-missing-title" data-testid="webgpu-missing">
      <h2 id="webgpu-missing-title">{HEADLINE[info.reason]}</h2>
      <p>{WHAT[info.reason]} Subspace runs models on the GPU through WebGPU and cannot work without it.</p>
      <h3>How to enable WebGPU</h3>
      <ol className="steps">
        <li>Use a browser with WebGPU: Chrome, Edge or Chromium 113 or newer (Subspace is tested in Chromium), and keep it up to date.</li>
        <li>
          On Linux, start the browser with <code>--enable-unsafe-webgpu --enable-features=Vulkan</code> (or enable{' '}
          <code>chrome://flags/#enable-unsafe-webgpu</code>) and restart it.
        </li>
        <li>
          Open <code>chrome://gpu</code> and check that “WebGPU” reads “Hardware accelerated”. If the GPU is blocklisted, update
          the graphics driver.
        </li>
        <li>
          Serve the page over <code>https://</code> or from <code>http://localhost</code> / <code>http://127.0.0.1</code>.{' '}
          {secure ? 'This page is a secure context, so this is not the problem.' : (
            <strong data-testid="insecure-context">This page is not a secure context ({location.origin}): WebGPU is hidden here.</strong>
          )}
        </li>
      </ol>
      <details>
        <summary>Details from the engine</summary>
        <p className="mono" data-testid="webgpu-missing-message">
          {info.reason}: {info.message}
        </p>
      </details>
    </section>
  );
}
