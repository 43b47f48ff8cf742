/** The embedded default model served from public/models/: its files and its card. */

export const DEFAULT_MODEL_NAME = 'tinyworld';
const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] as const;

export interface ModelCard {
  name: string;
  description: string;
  parameters: number;
  eval_loss: number;
}

function url(file: string): string {
  return `${import.meta.env.BASE_URL}models/${DEFAULT_MODEL_NAME}/${file}`;
}

/** Fetch the default model's files (same origin, so it works offline). */
export async function fetchDefaultModel(): Promise<{ files: File[]; card: ModelCard }> {
  const get = async (file: string) => {
    const res = await fetch(url(file));
    if (!res.ok) throw new Error(`the built-in model is missing ${file} (HTTP ${res.status}); run npm run pretrain`);
    return res;
  };
  const card = (await (await get('model-card.json')).json()) as ModelCard;
  const files = await Promise.all(FILES.map(async (f) => new File([await (await get(f)).arrayBuffer()], f)));
  return { files, card };
}
