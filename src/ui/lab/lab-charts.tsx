/**
 * The Lab's charts in the page: the SVG documents src/schema/svg-chart.ts draws (the same as the
 * report's files, with a title, axes and a legend), each with SVG and PNG downloads.
 */
import { svgToPng } from '../charts/chart-export.ts';
import { downloadBlob } from '../shared/download.ts';

/** The size svg-chart.ts draws at (its width and height attributes). */
function svgSizeOf(markup: string): { width: number; height: number } {
  const w = /width="(\d+)"/.exec(markup), h = /height="(\d+)"/.exec(markup);
  return { width: Number(w?.[1] ?? 640), height: Number(h?.[1] ?? 400) };
}

export async function downloadPng(file: string, markup: string): Promise<void> {
  const { width, height } = svgSizeOf(markup);
  downloadBlob(file.replace(/\.svg$/, '.png'), await svgToPng(markup, width, height), 'image/png');
}

export function LabChart({ file, title, markup, downloads = true }: { file: string; title: string; markup: string; downloads?: boolean }) {
  return (
    <figure className="lab-chart" data-testid="lab-chart" data-file={file}>
      {/* Our own SVG (svg-chart.ts escapes every text it draws). */}
      <div className="lab-chart-svg" role="img" aria-label={title} dangerouslySetInnerHTML={{ __html: markup }} />
      {downloads && (
        <figcaption className="lab-chart-downloads">
          <button type="button" onClick={() => downloadBlob(file, markup, 'image/svg+xml')} data-testid={`lab-chart-svg-${file}`}>
            SVG
          </button>
          <button type="button" onClick={() => void downloadPng(file, markup)} data-testid={`lab-chart-png-${file}`}>
            PNG
          </button>
        </figcaption>
      )}
    </figure>
  );
}
