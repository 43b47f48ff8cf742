// Lets Node (the CLI and the benchmarks) import shaders the way Vite does: `import code from 'x.wgsl?raw'`.
import { register } from 'node:module';
register('./wgsl-hooks.mjs', import.meta.url);
