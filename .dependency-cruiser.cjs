/**
 * Import rules of Subspace, checked by `npm test` (tests/unit/layers.test.ts runs depcruise).
 *
 * Layers, lowest first. A file may import only from its own folder or from a lower layer:
 *   0 schema · 1 gpu, reference, corpus · 2 kernels, io · 3 model · 4 adapters, linalg ·
 *   5 train, spectra, export · 6 persist, lab · 7 workers, cli, bench · 8 store · 9 ui, main.tsx
 * (src/main.tsx, the page's entry, mounts src/ui.)
 * src/store and src/ui import from src/schema, src/workers/protocol.ts and
 * src/workers/engine-client.ts only (types included), besides themselves (ui may use store).
 * There are no exceptions: a rule that needs one is a design question, not a config entry.
 */
const LAYERS = [
  ['src/schema'],
  ['src/gpu', 'src/reference', 'src/corpus'],
  ['src/kernels', 'src/io'],
  ['src/model'],
  ['src/adapters', 'src/linalg'],
  ['src/train', 'src/spectra', 'src/export'],
  ['src/persist', 'src/lab'],
  ['src/workers', 'src/cli', 'bench'],
  ['src/store'],
  ['src/ui', 'src/main.tsx'],
];

const esc = (s) => s.replace(/[.]/g, '\\.');
/** A path regex for a folder (or a single file such as src/main.tsx). */
const under = (p) => (p.endsWith('.tsx') || p.endsWith('.ts') ? `^${esc(p)}$` : `^${esc(p)}/`);
const anyOf = (paths) => `(${paths.map(under).join('|')})`;

const layerRules = LAYERS.flatMap((folders, level) =>
  folders.flatMap((folder) => {
    const allowed = [folder, ...(folder === 'src/main.tsx' ? ['src/ui'] : []), ...LAYERS.slice(0, level).flat()];
    const project = LAYERS.flat();
    const forbidden = project.filter((p) => !allowed.includes(p));
    if (forbidden.length === 0) return [];
    return [{
      name: `layer-${level}-${folder.replace(/[/.]/g, '-')}`,
      comment: `${folder} (layer ${level}) imports only its own folder and layers below ${level}`,
      severity: 'error',
      from: { path: under(folder) },
      to: { path: anyOf(forbidden) },
    }];
  }),
);

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'ui-store-through-protocol',
      comment: 'src/store and src/ui see the engine only through src/schema, the worker protocol and the engine client',
      severity: 'error',
      from: { path: '^src/(store|ui)/|^src/main\\.tsx$' },
      to: {
        path: '^src/',
        pathNot: '^src/(schema|store|ui)/|^src/workers/(protocol|engine-client)\\.ts$|^src/wgsl\\.d\\.ts$',
      },
    },
    {
      name: 'no-circular',
      comment: 'modules form a DAG at run time (a type-only import back, as zustand slices name the whole state, is no cycle)',
      severity: 'error',
      from: { path: '^(src|bench)/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves (a moved file is followed, not left dangling)',
      severity: 'error',
      from: { path: '^(src|bench)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test-results)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] },
  },
};
