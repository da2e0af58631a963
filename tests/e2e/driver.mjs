// Drives Debian's chromium with playwright-core for the Python browser tests: one JSON
// command a line on stdin, one JSON answer a line on stdout. Never downloads a browser.
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'

const require = createRequire(new URL('../../js_snippet/package.json', import.meta.url))
const { chromium } = require('playwright-core')
const [spki, hosts] = process.argv.slice(2)

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    `--host-resolver-rules=${hosts.split(',').map((h) => `MAP ${h} 127.0.0.1`).join(', ')}`,
    `--ignore-certificate-errors-spki-list=${spki}`,
  ],
})
let context
let page
let errors = []

const ops = {
  async newContext() {
    await context?.close()
    context = await browser.newContext()
    errors = []
    page = await context.newPage()
    page.on('pageerror', (error) => errors.push(String(error)))
    return browser.version()
  },
  async closeContext() {
    await context?.close()
    context = undefined
  },
  async newPage() {
    page = await context.newPage()
    page.on('pageerror', (error) => errors.push(String(error)))
  },
  goto: async (url) => (await page.goto(url, { waitUntil: 'load' }))?.status(),
  evaluate: (expression) => page.evaluate(expression),
  click: (selector) => page.click(selector),
  waitForURL: (pattern) => page.waitForURL(new RegExp(pattern)),
  url: () => page.url(),
  cookies: () => context.cookies(),
  errors: () => errors,
  clockInstall: (time) => context.clock.install({ time }),
  clockSetSystemTime: (time) => page.clock.setSystemTime(time),
  userAgent: () => page.evaluate('navigator.userAgent'),
  hide: () => page.evaluate("Object.defineProperty(document,'visibilityState',{value:'hidden',configurable:true});Object.defineProperty(document,'hidden',{value:true,configurable:true});document.dispatchEvent(new Event('visibilitychange'))"),
  wait: (ms) => page.waitForTimeout(ms),
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
await browser.close()
