import { chromium, type Browser, type Page } from 'playwright-core';
import { HANG_BOUND_MS } from './wait';

/** The page's publications of its own channel, oldest first: [tag, text]. */
export function shownPublications(page: Page): Promise<string[][]> {
  return page.$$eval('#log li.pub', (items) =>
    items
      .map((item) => [
        item.querySelector('.tag')?.textContent ?? '',
        item.querySelector('.text')?.textContent ?? '',
      ])
      .reverse(),
  );
}

/** Waits until the page shows a publication with this text; resolves with the page's clock then. */
export async function showsPublication(page: Page, text: string): Promise<number> {
  const shown = await page.waitForFunction(
    (wanted) =>
      [...document.querySelectorAll('#log li.pub .text')].some((e) => e.textContent === wanted) &&
      Date.now(),
    text,
    { timeout: HANG_BOUND_MS },
  );
  return (await shown.jsonValue()) as number;
}

/**
 * Debian's Chromium, headless, for the browser tests (npm cannot download browsers):
 * no sandbox (CI runs as root), no GPU, no background traffic or component updates.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
