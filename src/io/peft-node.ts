/** Node-only helpers: adapter directories (adapter_config.json + adapter_model.safetensors) on disk. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LlamaConfig } from '../schema/llama-config.ts';
import { ModelFileError } from './errors.ts';
import { writeFiles } from './fs-node.ts';
import type { ModelFile } from './load-model.ts';
import { readMoraAdapter, writeMoraAdapter, type MoraAdapterConfig, type MoraTensors } from './mora-file.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, readPeftAdapter, writePeftAdapter, type AdapterTensors, type PeftAdapterConfig } from './peft.ts';

/** The two adapter files of `dir` as ModelFiles named by their full paths. */
export async function readAdapterDirFiles(dir: string): Promise<ModelFile[]> {
  const files: ModelFile[] = [];
  for (const n of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) {
    const p = path.join(path.resolve(dir), n);
    try {
      const b = await readFile(p);
      files.push({ name: p, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new ModelFileError(p, err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.message})`, 'missing-file');
    }
  }
  return files;
}

export async function writePeftAdapterDir(dir: string, config: PeftAdapterConfig, tensors: AdapterTensors, modelConfig: LlamaConfig): Promise<void> {
  await writeFiles(dir, writePeftAdapter(config, tensors, modelConfig));
}

export async function readPeftAdapterDir(dir: string, modelConfig: LlamaConfig): Promise<ReturnType<typeof readPeftAdapter>> {
  return readPeftAdapter(await readAdapterDirFiles(dir), modelConfig);
}

export async function writeMoraAdapterDir(dir: string, config: MoraAdapterConfig, tensors: MoraTensors, modelConfig: LlamaConfig): Promise<void> {
  await writeFiles(dir, writeMoraAdapter(config, tensors, modelConfig));
}

export async function readMoraAdapterDir(dir: string, modelConfig: LlamaConfig): Promise<ReturnType<typeof readMoraAdapter>> {
  return readMoraAdapter(await readAdapterDirFiles(dir), modelConfig);
}
