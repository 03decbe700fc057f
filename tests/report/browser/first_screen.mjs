// Open a rendered snapconform report the way a person does (file:// or http://) on a 1366x768
// screen and read its first screen: the page title, the scroll position once it has rendered,
// the first verdict word visible from the top, whether a text is visible inside the viewport,
// every percentage figure in view, and the visible text. Prints one JSON document on stdout.
//
// usage: node first_screen.mjs URL EXPECTED_TEXT SCREENSHOT USER_DATA_DIR
import { chromium } from "playwright-core";

const [url, expected, shot, userDataDir] = process.argv.slice(2);
const TIMEOUT_MS = 60_000;
const VIEWPORT = { width: 1366, height: 768 };
const result = { offLoopback: [], pageErrors: [], viewport: VIEWPORT };

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: VIEWPORT,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  timeout: TIMEOUT_MS,
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on("request", (request) => {
    const { hostname, protocol } = new URL(request.url());
    if (!["data:", "blob:", "file:"].includes(protocol) && !["127.0.0.1", "localhost"].includes(hostname)) {
      result.offLoopback.push(request.url());
    }
  });
  page.on("pageerror", (error) => result.pageErrors.push(String(error)));
  await page.goto(url, { waitUntil: "load" });
  // rendered: the requirement tree is there (a spinner alone never shows a test title)
  await page.getByText(expected, { exact: false }).first().waitFor();
  await page.waitForFunction(() => document.body.innerText.includes("GET /api/snapservice/tasks"));
  await page.waitForTimeout(500);  // let the app apply any scrolling of its own
  result.title = await page.title();
  result.scrollY = await page.evaluate(() => {
    const scrolled = [...document.querySelectorAll("*")].filter((n) => n.scrollTop > 0);
    return window.scrollY + scrolled.reduce((sum, n) => sum + n.scrollTop, 0);
  });
  const box = await page.getByText(expected, { exact: false }).first().boundingBox();
  result.expectedBox = box;
  result.expectedInViewport = Boolean(box) && box.y >= 0 && box.y + box.height <= VIEWPORT.height;
  // What the screen shows, whatever element holds it: every visible text leaf inside the
  // viewport, top to bottom, with its box.
  result.onScreen = await page.evaluate(({ width, height }) => {
    // a screen-reader-only text: inside a box of 1px or less that clips what overflows it
    const clippedAway = (element) => {
      for (let node = element; node && node !== document.body; node = node.parentElement) {
        const style = getComputedStyle(node);
        const box = node.getBoundingClientRect();
        const clips = style.overflow !== "visible" || style.clipPath !== "none" || style.clip !== "auto";
        if (clips && (box.width <= 1 || box.height <= 1)) return true;
      }
      return false;
    };
    const seen = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const element = node.parentElement;
      if (!text || !element || element.closest("script, style, title")) continue;
      // hidden by itself or by an ancestor (display, visibility, opacity: e.g. a closed tooltip)
      if (!element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
      if (clippedAway(element)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const rect = range.getBoundingClientRect();
      if (!rect.width || !rect.height) continue;
      if (rect.bottom <= 0 || rect.top >= height || rect.right <= 0 || rect.left >= width) continue;
      seen.push({ text, x: rect.left, y: rect.top, bottom: rect.bottom });
    }
    return seen.sort((a, b) => a.y - b.y || a.x - b.x);
  }, VIEWPORT);
  const word = /\b(NON-CONFORMANT|CONFORMANT|INCOMPLETE|NO VERDICT)\b/;
  const first = result.onScreen.find((leaf) => word.test(leaf.text));
  result.verdictWord = first ? first.text.match(word)[1] : null;
  result.verdictBox = first ?? null;
  result.percentages = result.onScreen.filter((leaf) => /\d\s*%/.test(leaf.text)).map((leaf) => leaf.text);
  result.text = await page.evaluate(() => document.body.innerText);
  await page.screenshot({ path: shot });
  // The first requirement the verdict panel names opens its check in the Allure app.
  const link = page.locator("#snapconform-verdict a").first();
  if (await link.count()) {
    const before = await page.evaluate(() => location.hash);
    await link.click();
    await page.waitForFunction((old) => location.hash !== old, before);
    await page.waitForTimeout(500);
    result.opened = await page.evaluate(() => ({
      hash: location.hash,
      panelOpen: document.getElementById("snapconform-verdict").open,
      text: document.getElementById("app").innerText,
    }));
  }
} catch (error) {
  result.error = String(error);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(result));
