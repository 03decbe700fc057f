// Open a rendered snapconform report the way a person does (file:// or http://) and read its
// first screen: the page title, the scroll position once it has rendered, whether a text is
// visible inside the viewport, and the visible text. Prints one JSON document on stdout.
//
// usage: node first_screen.mjs URL EXPECTED_TEXT SCREENSHOT USER_DATA_DIR
import { chromium } from "playwright-core";

const [url, expected, shot, userDataDir] = process.argv.slice(2);
const TIMEOUT_MS = 60_000;
const result = { offLoopback: [], pageErrors: [] };

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 900 },
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
  result.expectedInViewport = Boolean(box) && box.y >= 0 && box.y + box.height <= 900;
  result.text = await page.evaluate(() => document.body.innerText);
  await page.screenshot({ path: shot });
} catch (error) {
  result.error = String(error);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(result));
