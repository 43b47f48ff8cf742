/** WGSL sources are imported as text: `import code from '../../shaders/x.wgsl?raw'`. */
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
