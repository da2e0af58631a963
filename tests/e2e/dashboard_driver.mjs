// Drives Debian's chromium with playwright-core for tests/e2e/test_dashboard_browser.py: one
// JSON command a line on stdin, one JSON answer a line on stdout (as bench/harness/driver.mjs,
// with what the dashboard's test needs: forms, viewports, screenshots). Never downloads a browser.
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'

const require = createRequire(new URL('../../js_snippet/package.json', import.meta.url))
const { chromium } = require('playwright-core')

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' })
let context
let page
let problems = [] // uncaught errors, console errors and CSP violations of the context's pages

const ops = {
  async newContext(options = {}) {
    await context?.close()
    context = await browser.newContext(options)
    problems = []
    page = await context.newPage()
    page.on('pageerror', (error) => problems.push(`pageerror: ${error}`))
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
    })
    return browser.version()
  },
  goto: async (url) => (await page.goto(url, { waitUntil: 'load' }))?.status(),
  fill: (selector, value) => page.fill(selector, value),
  click: (selector) => page.click(selector),
  selectOption: (selector, value) => page.selectOption(selector, value),
  waitForURL: (pattern) => page.waitForURL(new RegExp(pattern), { timeout: 60000 }),
  waitForFunction: async (expression) =>
    (await page.waitForFunction(expression, undefined, { timeout: 30000 })).jsonValue(),
  evaluate: (expression) => page.evaluate(expression),
  url: () => page.url(),
  problems: () => problems,
  cookies: () => context.cookies(),
  screenshot: async (path, fullPage = false) => {
    await page.screenshot({ path, fullPage })
  },
}

for await (const line of createInterface({ input: process.stdin })) {
  const { op, args = [] } = JSON.parse(line)
  let answer
  try {
    answer = { ok: (await ops[op](...args)) ?? null }
  } catch (error) {
    answer = { error: String(error.stack || error) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
await context?.close()
await browser.close()
