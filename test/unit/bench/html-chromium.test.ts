// The HTML report in a real browser: Debian's headless Chromium loads the self-contained page
// (no network), and every chart must have drawn: a chart.js instance on each canvas, with
// datasets holding data, and pixels that are not blank. No root needed. Skips only when
// /usr/bin/chromium is absent.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { compareResults } from '../../../bench/compare/compare.ts';
import { loadThresholds } from '../../../bench/compare/thresholds.ts';
import { readResults } from '../../../bench/lib/validate.ts';
import { renderHtml } from '../../../bench/report/html.ts';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURES = new URL('../../fixtures/bench/', import.meta.url).pathname;

interface CanvasCheck {
  id: string;
  hasChart: boolean;
  datasets: number;
  points: number;
  paintedPixels: number;
}

/** Runs in the page (as source text: this project's TypeScript has no DOM types). */
const INSPECT_CANVASES = `[...document.querySelectorAll('canvas')].map((canvas) => {
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  const datasets = chart ? chart.data.datasets : [];
  return {
    id: canvas.id,
    hasChart: chart !== undefined,
    datasets: datasets.length,
    points: datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0),
    paintedPixels: painted,
  };
})`;

test(
  'every chart of the HTML report draws in headless Chromium',
  {
    skip: existsSync(CHROMIUM)
      ? false
      : `${CHROMIUM} is absent: install Debian's chromium package to run this test`,
  },
  async () => {
    const baseline = readResults(join(FIXTURES, 'baseline.json'));
    const current = readResults(join(FIXTURES, 'current.json'));
    const comparison = compareResults(baseline, current, loadThresholds());
    const dir = mkdtempSync(join(tmpdir(), 'kdp-html-chromium-'));
    const page = join(dir, 'report.html');
    writeFileSync(page, renderHtml(current, { baseline, comparison }));
    const profile = join(dir, 'profile');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 900 },
    });
    try {
      const tab = await context.newPage();
      const pageErrors: string[] = [];
      const requests: string[] = [];
      tab.on('pageerror', (e) => pageErrors.push(e.message));
      tab.on('request', (r) => requests.push(r.url()));
      await tab.goto(`file://${page}`);
      await tab.waitForFunction('document.body.dataset.chartsDrawn !== undefined', undefined, {
        timeout: 20_000,
      });
      const checks = (await tab.evaluate(INSPECT_CANVASES)) as CanvasCheck[];
      assert.deepEqual(pageErrors, [], 'the page threw');
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file://')),
        [],
        'the report must not fetch anything',
      );
      // The fixtures make bars (tcp-stream-1), latency (tcp-rr, 3 paths), scaling (sync-full), other (bringup).
      assert.ok(checks.length >= 6, `expected at least 6 charts, found ${checks.length}`);
      for (const c of checks) {
        assert.ok(c.hasChart, `${c.id}: no chart.js instance`);
        assert.ok(
          c.datasets > 0 && c.points > 0,
          `${c.id}: no data (${c.datasets} datasets, ${c.points} points)`,
        );
        assert.ok(c.paintedPixels > 500, `${c.id}: canvas is blank (${c.paintedPixels} painted pixels)`);
      }
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
