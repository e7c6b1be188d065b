import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { repoRoot } from "./server-process.ts";

/** Debian's Chromium (scripts/test.sh installs the `chromium` package). */
export const chromiumPath = "/usr/bin/chromium";

/** Flags that keep Chromium off the network and quiet on a headless CI machine. */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where tests put screenshots (gitignored). */
export const outputDir = path.join(repoRoot, "test-output");

/** The built UI the server serves with --web-dir. */
export const webDist = path.join(repoRoot, "web", "dist");

export const transports = ["connect", "grpc-web"] as const;
export type TransportName = (typeof transports)[number];

/** The request content types each transport sends, to prove which protocol a page used. */
export const contentTypes: Record<TransportName, RegExp> = {
  connect: /^application\/(json|connect\+json)/,
  "grpc-web": /^application\/grpc-web(\+proto)?/,
};

/** Launches headless Chromium; fails loudly when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: apt-get install chromium (scripts/test.sh does this)`);
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/**
 * Builds the web UI when web/dist is missing or older than its sources
 * (`npm test` builds it before the tests run, so this is usually a no-op).
 */
export async function ensureWebBuilt(): Promise<string> {
  // Test files run in parallel: one builds, the others wait for its lock.
  const lock = path.join(repoRoot, "web", ".build-lock");
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run is stale after 2 minutes.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    const index = path.join(webDist, "index.html");
    const built = existsSync(index) ? statSync(index).mtimeMs : 0;
    const sources = [
      path.join(repoRoot, "web", "src"),
      path.join(repoRoot, "web", "index.html"),
      path.join(repoRoot, "web", "vite.config.ts"),
    ];
    if (built === 0 || sources.some((s) => newestMtime(s) > built)) {
      await new Promise<void>((resolve, reject) => {
        execFile(
          path.join(repoRoot, "node_modules", ".bin", "vite"),
          ["build", "--logLevel", "warn"],
          { cwd: path.join(repoRoot, "web"), timeout: 120_000 },
          (err, _stdout, stderr) => (err ? reject(new Error(`web build failed: ${stderr || err.message}`)) : resolve()),
        );
      });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return webDist;
}

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const entry of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/** A page whose console errors, page errors and RPC requests are recorded. */
export interface WatchedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors, in order. */
  readonly problems: string[];
  /** Content types of the RPC requests the page sent. */
  readonly rpcContentTypes: string[];
  /**
   * Removes recorded problems matching `pattern` (an error the test
   * provoked on purpose) and returns how many there were.
   */
  allow(pattern: RegExp): number;
  /** Throws when anything is left in `problems`. */
  assertNoProblems(): void;
  /** Saves a full-page screenshot to test-output/NAME.png (NAME may contain a folder) and returns the path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface OpenPageOptions {
  baseUrl: string;
  /** Protocol stored for the app before it loads (as the switch remembers it). */
  transport?: TransportName;
  /** Viewport; default a laptop (1280×800). */
  viewport?: { width: number; height: number };
}

/** Opens a fresh browser context (own localStorage) and page that records its problems. */
export async function openPage(browser: Browser, opts: OpenPageOptions): Promise<WatchedPage> {
  const context = await browser.newContext({
    baseURL: opts.baseUrl,
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    deviceScaleFactor: 1,
  });
  if (opts.transport) {
    // Only before the first load of this context, like a returning visitor's choice.
    // (Scripts run in the page are strings: this project type-checks tests without the DOM library.)
    await context.addInitScript(
      `if (sessionStorage.getItem("test.seeded") === null) {
         localStorage.setItem("switchboard.transport", ${JSON.stringify(opts.transport)});
         sessionStorage.setItem("test.seeded", "1");
       }`,
    );
  }
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems: string[] = [];
  const rpcContentTypes: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console.error: ${msg.text()} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("request", (req) => {
    const type = req.headers()["content-type"];
    if (req.method() === "POST" && type) rpcContentTypes.push(type);
  });
  return {
    context,
    page,
    problems,
    rpcContentTypes,
    allow(pattern) {
      let n = 0;
      for (let i = problems.length - 1; i >= 0; i--) {
        if (pattern.test(problems[i]!)) {
          problems.splice(i, 1);
          n++;
        }
      }
      return n;
    },
    assertNoProblems() {
      if (problems.length > 0) throw new Error(`browser reported problems:\n${problems.join("\n")}`);
    },
    async screenshot(name) {
      const file = path.join(outputDir, `${name}.png`);
      mkdirSync(path.dirname(file), { recursive: true });
      await page.evaluate("window.scrollTo(0, 0)");
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => context.close(),
  };
}
