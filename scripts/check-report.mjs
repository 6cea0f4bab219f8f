#!/usr/bin/env node
// Opens an HTML report in headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM), checks that
// every image and chart loaded (complete, non-zero natural size), and writes a full-page screenshot.
//   node scripts/check-report.mjs runs/00001-demo/report.html [screenshot.png]
// Exits 1 when an image is broken, 2 when the browser cannot be started.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const [report, shot] = process.argv.slice(2);
if (!report || !existsSync(report)) {
  console.error(`usage: check-report.mjs <report.html> [screenshot.png] (${report ?? 'no report'} not found)`);
  process.exit(2);
}
const executablePath = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
if (!executablePath) {
  console.error('no Chromium found: apt-get install -y chromium (or set $CHROMIUM)');
  process.exit(2);
}
const browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox', '--allow-file-access-from-files'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  await page.goto(pathToFileURL(resolve(report)).href, { waitUntil: 'load' });
  const images = await page.evaluate(() =>
    [...document.images].map((img) => ({ src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0, w: img.naturalWidth, h: img.naturalHeight })),
  );
  const out = shot ?? resolve(report).replace(/\.html$/, '') + '-screenshot.png';
  await page.screenshot({ path: out, fullPage: true });
  for (const i of images) console.log(`${i.ok ? 'ok  ' : 'FAIL'} ${i.src} ${i.w}×${i.h}`);
  const broken = images.filter((i) => !i.ok);
  console.log(`${images.length - broken.length}/${images.length} images shown; screenshot ${out} (${executablePath})`);
  process.exitCode = broken.length || images.length === 0 ? 1 : 0;
} finally {
  await browser.close();
}
