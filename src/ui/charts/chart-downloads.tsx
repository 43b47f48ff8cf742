/**
 * "Download SVG" and "Download PNG" for the chart inside the same <figure>: the chart framed with its
 * title, the runs and their settings, and a legend (chart-frame.ts), ready for a slide.
 */
import { useRef, useState } from 'react';
import { downloadBlob } from '../shared/download.ts';
import { serializeSvg, svgSize, svgToPng } from './chart-export.ts';
import { framedSvg, type ChartExportInfo } from './chart-frame.ts';

interface Props {
  fileName: string;
  testId: string;
  /** What the file says besides the drawing; read when a button is pressed. */
  info: () => ChartExportInfo;
}

export function ChartDownloads({ fileName, testId, info }: Props) {
  const anchor = useRef<HTMLSpanElement>(null);
  const [error, setError] = useState<string | null>(null);
  const chart = (): SVGSVGElement | null => anchor.current?.closest('figure')?.querySelector('svg') ?? null;

  const save = async (kind: 'svg' | 'png') => {
    const svg = chart();
    if (!svg) return;
    setError(null);
    try {
      const size = svgSize(svg);
      const framed = framedSvg(serializeSvg(svg), size.width, size.height, info());
      if (kind === 'svg') downloadBlob(`${fileName}.svg`, framed.markup, 'image/svg+xml');
      else downloadBlob(`${fileName}.png`, await svgToPng(framed.markup, framed.width, framed.height, 2), 'image/png');
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
