// Reports: Markdown and HTML carry the same tables and figures; text is escaped in HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportMarkdown, reportHtml, reportFigures, type Report } from './report.js';

const r: Report = {
  title: 'T <1>',
  intro: ['uses `code` and **bold**'],
  sections: [
    {
      title: 'S',
      blocks: [
        { kind: 'table', head: ['a', 'b'], rows: [['x', 0.123456], ['<y>', 3]] },
        { kind: 'figure', src: 'f.svg', caption: 'cap' },
        { kind: 'code', text: 'npm start' },
      ],
    },
  ],
};

test('markdown has the table rows, rounded numbers and figure links', () => {
  const md = reportMarkdown(r);
  assert.match(md, /^# T <1>/);
  assert.match(md, /\| a \| b \|\n\|---\|---\|\n\| x \| 0.1235 \|\n\| <y> \| 3 \|/);
  assert.match(md, /!\[cap\]\(f.svg\)/);
  assert.deepEqual(reportFigures(r), ['f.svg']);
});

test('html escapes text, right-aligns numbers and embeds figures', () => {
  const html = reportHtml(r);
  assert.match(html, /<title>T &lt;1&gt;<\/title>/);
  assert.match(html, /<td>&lt;y&gt;<\/td><td class="num">3<\/td>/);
  assert.match(html, /<code>code<\/code> and <strong>bold<\/strong>/);
  assert.match(html, /<img src="f.svg" alt="cap">/);
  assert.match(html, /<pre>npm start<\/pre>/);
});
