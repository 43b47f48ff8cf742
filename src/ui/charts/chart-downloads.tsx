/** "Download SVG" and "Download PNG" for the chart inside the same <figure>. */
import { useRef, useState } from 'react';
import { downloadBlob } from '../shared/download.ts';
import { serializeSvg, svgSize, svgToPng } from './chart-export.ts';

export function ChartDownloads({ fileName, testId }: { fileName: string; testId: string }) {
  const anchor = useRef<HTMLSpanElement>(null);
  const [error, setError] = useState<string | null>(null);
  const chart = (): SVGSVGElement | null => anchor.current?.closest('figure')?.querySelector('svg') ?? null;

  const save = async (kind: 'svg' | 'png') => {
    const svg = chart();
    if (!svg) return;
    setError(null);
    try {
      const markup = serializeSvg(svg);
      if (kind === 'svg') downloadBlob(`${fileName}.svg`, markup, 'image/svg+xml');
      else {
        const { width, height } = svgSize(svg);
        downloadBlob(`${fileName}.png`, await svgToPng(markup, width, height, 2), 'image/png');
      }
    } catch (e) {
      setError(`Could not save the chart: ${(e as Error).message}`);
    }
  };

  return (
    <span ref={anchor} className="chart-downloads">
      <button type="button" className="small" onClick={() => void save('svg')} data-testid={`${testId}-svg`}>
        Download SVG
      </button>
      <button type="button" className="small" onClick={() => void save('png')} data-testid={`${testId}-png`}>
        Download PNG
      </button>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
