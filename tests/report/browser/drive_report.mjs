// Drive a rendered snapconform report in the system chromium (playwright-core, no browser
// download) the way a reviewer would: open it, read the requirement tree, open one failed check,
// open its expected/actual comparison. Prints one JSON document on stdout; the Python test
// asserts on it. Every request that leaves loopback is recorded (a report must not call out).
//
// usage: node drive_report.mjs URL TEST_TITLE SCREENSHOT_DIR USER_DATA_DIR [diff|nodiff]
// (nodiff: the failed check has no expected/actual comparison to open)
import { chromium } from "playwright-core";

const [url, testTitle, shotDir, userDataDir, diffMode = "diff"] = process.argv.slice(2);
const TIMEOUT_MS = 30_000;
const result = { offLoopback: [], pageErrors: [], screenshots: [] };

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: TIMEOUT_MS,
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on("request", (request) => {
    const { hostname, protocol } = new URL(request.url());
    if (!["data:", "blob:"].includes(protocol) && !["127.0.0.1", "localhost"].includes(hostname)) {
      result.offLoopback.push(request.url());
    }
  });
  page.on("pageerror", (error) => result.pageErrors.push(String(error)));

  const response = await page.goto(url, { waitUntil: "load" });
  result.status = response ? response.status() : null;
  await page.getByText(testTitle, { exact: true }).first().waitFor();
  result.title = await page.title();
  result.tree = await page.evaluate(() => document.body.innerText);
  const tree = `${shotDir}/report-tree.png`;
  await page.screenshot({ path: tree, fullPage: true });
  result.screenshots.push(tree);

  await page.getByText(testTitle, { exact: true }).first().click();
  await page.getByText(diffMode === "diff" ? "Show difference" : "Test body").first().waitFor();
  result.testPage = await page.evaluate(() => document.body.innerText);
  const failed = `${shotDir}/failed-check.png`;
  await page.screenshot({ path: failed, fullPage: true });
  result.screenshots.push(failed);

  if (diffMode === "diff") {
    await openComparison(page);
  }
} catch (error) {
  result.error = String(error);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(result));

async function openComparison(page) {
  await page.getByText("Show difference").first().click();
  const dialog = page.getByText("Comparison", { exact: true }).first();
  await dialog.waitFor();
  result.diff = await page.evaluate(
    () => (document.querySelector("[class*=modal-content]") ?? document.body).innerText,
  );
  // The comparison colours what is missing and what is unexpected; class names are hashed, so
  // read each block's rendered colours instead.
  result.diffBlocks = await page.evaluate(() =>
    [...document.querySelectorAll("[class*=modal-content] pre > *")].map((node) => {
      const style = getComputedStyle(node);
      return { text: node.textContent, color: style.color, background: style.backgroundColor };
    }),
  );
  const diff = `${shotDir}/failed-check-diff.png`;
  await page.screenshot({ path: diff });
  result.screenshots.push(diff);
}
