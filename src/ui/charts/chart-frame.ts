/**
 * An exported chart ready for a slide: the chart's own SVG framed with a title, lines naming the runs
 * and their settings (method, rank, lr, steps, data) above it, and a legend below it — one standalone
 * SVG document (the PNG is drawn from it).
 */

/** One legend entry: a colour swatch (a dashed line when `dashed`) and its text. */
export interface LegendEntry {
  label: string;
  colour: string;
  dashed?: boolean;
}

/** What an exported chart says besides its drawing. */
export interface ChartExportInfo {
  title: string;
  /** One line per run (or setting), e.g. "Run 2 · MoRA r8: lr 1.0e-2, 6 steps, 2×32, q, v, data New facts". */
  notes: readonly string[];
  legend: readonly LegendEntry[];
}

const PAD = 16;
const TITLE_PX = 16;
const NOTE_PX = 11;
const LINE = 1.45;
/** Average glyph width over font size for the sans-serif labels (for wrapping). */
const GLYPH = 0.56;
const MIN_WIDTH = 480;

/** `s` safe inside SVG text and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `text` cut at spaces into lines of at most `max` characters (a longer word stays whole). */
export function wrapText(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The chart's serialised <svg> (`chart`, `width` × `height`) inside a document with the title, notes and legend. */
export function framedSvg(chart: string, width: number, height: number, info: ChartExportInfo): { markup: string; width: number; height: number } {
  const W = Math.max(MIN_WIDTH, Math.ceil(width));
  const text = (x: number, y: number, px: number, body: string, extra = '') =>
    `<text x="${x}" y="${y.toFixed(1)}" font-family="system-ui, sans-serif" font-size="${px}" fill="#111"${extra}>${xmlEscape(body)}</text>`;
  const parts: string[] = [];
  let y = PAD + TITLE_PX;
  for (const line of wrapText(info.title, Math.floor((W - 2 * PAD) / (TITLE_PX * GLYPH)))) {
    parts.push(text(PAD, y, TITLE_PX, line, ' font-weight="600" class="export-title"'));
    y += TITLE_PX * LINE;
  }
  for (const note of info.notes) {
    for (const line of wrapText(note, Math.floor((W - 2 * PAD) / (NOTE_PX * GLYPH)))) {
      parts.push(text(PAD, y, NOTE_PX, line, ' fill-opacity="0.8" class="export-note"'));
      y += NOTE_PX * LINE;
    }
  }
  const chartTop = y - NOTE_PX + 6;
  parts.push(`<g transform="translate(${((W - width) / 2).toFixed(1)} ${chartTop.toFixed(1)})">${chart}</g>`);
  // The legend: entries flow left to right, wrapping at the document's width.
  let lx = PAD;
  let ly = chartTop + height + 8 + NOTE_PX;
  for (const e of info.legend) {
    const w = 22 + e.label.length * NOTE_PX * GLYPH + 14;
    if (lx > PAD && lx + w > W - PAD) {
      lx = PAD;
      ly += NOTE_PX * LINE;
    }
    const dash = e.dashed ? ' stroke-dasharray="4 2"' : '';
    parts.push(
      `<g class="export-legend-entry"><line x1="${lx}" x2="${lx + 16}" y1="${(ly - 4).toFixed(1)}" y2="${(ly - 4).toFixed(1)}" stroke="${xmlEscape(e.colour)}" stroke-width="3"${dash}/>` +
        `${text(lx + 22, ly, NOTE_PX, e.label)}</g>`,
    );
    lx += w;
  }
  const H = Math.ceil(ly + PAD);
  const markup =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    `<title>${xmlEscape(info.title)}</title><rect width="100%" height="100%" fill="#ffffff"/>${parts.join('')}</svg>`;
  return { markup, width: W, height: H };
}
