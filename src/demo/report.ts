// Reports as Markdown and standalone HTML from one description: sections of paragraphs, tables and
// figures (PNG or SVG files beside the report, referenced by relative path).

export type Block =
  | { kind: 'text'; text: string }
  | { kind: 'table'; head: string[]; rows: Array<Array<string | number>> }
  | { kind: 'figure'; src: string; caption: string }
  | { kind: 'code'; text: string };

export interface Section {
  title: string;
  blocks: Block[];
}

export interface Report {
  title: string;
  intro: string[];
  sections: Section[];
}

function cell(v: string | number): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)))) : v;
}

export function reportMarkdown(r: Report): string {
  const out: string[] = [`# ${r.title}`, '', ...r.intro.flatMap((p) => [p, ''])];
  for (const s of r.sections) {
    out.push(`## ${s.title}`, '');
    for (const b of s.blocks) {
      if (b.kind === 'text') out.push(b.text, '');
      else if (b.kind === 'code') out.push('```', b.text, '```', '');
      else if (b.kind === 'figure') out.push(`![${b.caption}](${b.src})`, '', `*${b.caption}*`, '');
      else {
        out.push(`| ${b.head.join(' | ')} |`, `|${b.head.map(() => '---').join('|')}|`);
        for (const row of b.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
        out.push('');
      }
    }
  }
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline Markdown subset of the report texts: `code`, **bold**, *italic*. */
function inline(s: string): string {
  return esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\*([^*]+)\*/g, '<em>$1</em>');
}

export function reportHtml(r: Report): string {
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(r.title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}' +
      'table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}td.num{text-align:right}' +
      'figure{margin:1.2em 0}figure img{max-width:100%;image-rendering:pixelated;border:1px solid #ddd}' +
      'figcaption{color:#555;font-size:0.92em}code,pre{background:#f6f6f6}pre{padding:0.6em;overflow-x:auto}</style>',
    '</head><body>',
    `<h1>${esc(r.title)}</h1>`,
    ...r.intro.map((p) => `<p>${inline(p)}</p>`),
  ];
  for (const s of r.sections) {
    out.push(`<h2>${esc(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === 'text') out.push(`<p>${inline(b.text)}</p>`);
      else if (b.kind === 'code') out.push(`<pre>${esc(b.text)}</pre>`);
      else if (b.kind === 'figure') out.push(`<figure><img src="${esc(b.src)}" alt="${esc(b.caption)}"><figcaption>${inline(b.caption)}</figcaption></figure>`);
      else {
        out.push('<table><thead><tr>' + b.head.map((h) => `<th>${inline(h)}</th>`).join('') + '</tr></thead><tbody>');
        for (const row of b.rows) out.push('<tr>' + row.map((v) => `<td${typeof v === 'number' || /^[-+]?[\d.,]+(e[-+]?\d+)?$/.test(String(v)) ? ' class="num"' : ''}>${inline(cell(v))}</td>`).join('') + '</tr>');
        out.push('</tbody></table>');
      }
    }
  }
  out.push('</body></html>');
  return out.join('\n') + '\n';
}

/** Every figure a report refers to (for checks that they exist). */
export function reportFigures(r: Report): string[] {
  return r.sections.flatMap((s) => s.blocks.flatMap((b) => (b.kind === 'figure' ? [b.src] : [])));
}
