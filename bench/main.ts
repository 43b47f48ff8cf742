/**
 * `npm run bench [-- --json out.json] [--filter text] [--samples n] [--variants]`
 * Runs every suite against its peer on the same adapter, prints a table to stdout (progress to
 * stderr) and optionally writes {"results": [{name, ours, peer, unit, ratio, target}]}.
 */
import { writeFileSync } from 'node:fs';
import { acquireNodeDevice } from '../src/gpu/node-device.ts';
import { Gpu } from '../src/gpu/gpu.ts';
import { matmulBench } from './matmul.ts';
import type { BenchContext, BenchRow, BenchSuite } from './harness.ts';
import { svdBench } from './svd.ts';
import { setupTfjs } from './tfjs.ts';
import { trainingBench } from './training.ts';
import { moraBench } from './mora.ts';
import { runLoopBench } from './run-loop.ts';
import { onnxGenerateBench } from './onnx-generate.ts';
import { realSizeBench } from './real-size.ts';

/** Add a suite here to add its rows to the report. */
const SUITES: BenchSuite[] = [matmulBench, trainingBench, runLoopBench, moraBench, svdBench, onnxGenerateBench, realSizeBench];

interface Args {
  json?: string;
  filter?: string;
  samples: number;
  variants: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { samples: 7, variants: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') args.json = value();
    else if (a === '--filter') args.filter = value();
    else if (a === '--samples') args.samples = Math.max(1, Number.parseInt(value(), 10) || 1);
    else if (a === '--variants') args.variants = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench -- [--json file] [--filter text] [--samples n] [--variants]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return args;
}

function table(rows: BenchRow[]): string {
  const head = ['benchmark', 'ours', 'peer', 'unit', 'ratio', 'target'];
  const cells = rows.map((r) => [r.name, r.ours.toFixed(3), r.peer.toFixed(3), r.unit, r.ratio.toFixed(2), r.target]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
  const gpu = new Gpu(await acquireNodeDevice());
  const tf = await setupTfjs();
  const ours = gpu.adapterInfo;
  log(`ours: ${ours.vendor} ${ours.architecture} (${ours.description}); tfjs: ${tf.adapter}; ${args.samples} samples per case`);
  const ctx: BenchContext = {
    gpu,
    tf,
    wanted: (name) => !args.filter || name.toLowerCase().includes(args.filter.toLowerCase()),
    samples: args.samples,
    variants: args.variants,
    log,
  };
  const t0 = performance.now();
  const rows: BenchRow[] = [];
  for (const suite of SUITES) rows.push(...(await suite(ctx)));
  log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  process.stdout.write(`${table(rows)}\n`);
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify({ results: rows }, null, 2)}\n`);
    log(`wrote ${args.json}`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`[bench] failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
