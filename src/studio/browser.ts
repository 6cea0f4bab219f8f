// Headless Chromium for the studio's tests and `lia bench studio`: the system's Chromium (Debian's
// /usr/bin/chromium, or $CHROMIUM) driven through puppeteer-core, which downloads nothing.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'puppeteer-core';

export function findChromium(): string | null {
  return process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p)) ?? null;
}

export const CHROMIUM_HINT = 'no Chromium found: apt-get install -y chromium (or set $CHROMIUM to a Chrome/Chromium binary)';

/** Headless Chromium, by default with WebGPU enabled (--enable-unsafe-webgpu; SwiftShader's adapter where there is no GPU). */
export async function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(CHROMIUM_HINT);
  let puppeteer: { launch(o: object): Promise<Browser> };
  try {
    puppeteer = (await import('puppeteer-core')).default as unknown as typeof puppeteer;
  } catch (e) {
    throw new Error(`the studio's browser checks need the npm package puppeteer-core (${(e as Error).message.split('\n')[0]})`);
  }
  // Emulated GPUs are slow: one benchmark call in a page can take minutes.
  return puppeteer.launch({ executablePath, headless: true, protocolTimeout: 20 * 60_000, args: ['--no-sandbox', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', ...(opts.webgpu === false ? [] : ['--enable-unsafe-webgpu'])] });
}

export interface OpenedPage {
  page: Page;
  /** Console errors and page errors seen so far. */
  errors: string[];
  /** Every console message. */
  console: string[];
}

/** Opens the studio at `url` and waits until it has started (or failed); timeout in ms. */
export async function openStudio(browser: Browser, url: string, timeout = 120_000): Promise<OpenedPage> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  const errors: string[] = [];
  const messages: string[] = [];
  page.on('console', (m) => {
    messages.push(`${m.type()}: ${m.text()}`);
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.ready !== undefined && document.body.dataset.busy === '0', { timeout, polling: 100 });
  return { page, errors, console: messages };
}

/** Waits until no UI action is running. */
export async function settle(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.busy === '0', { timeout, polling: 50 });
}
