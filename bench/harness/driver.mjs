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
let messages = [] // { type, text } of the console (the snippet warns there)
let requests = [] // { url, method, type } of the current context's pages, for transport checks
let cdp

const watch = (page) => {
  page.on('pageerror', (error) => errors.push(String(error)))
  page.on('console', (m) => messages.push({ type: m.type(), text: m.text() }))
  page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), type: r.resourceType() }))
}
// `before` runs in the same task, so nothing the page schedules can come in between.
const visibility = (state, before = '') =>
  page.evaluate(`${before};Object.defineProperty(document,'visibilityState',{value:'${state}',configurable:true});` +
    `Object.defineProperty(document,'hidden',{value:${state === 'hidden'},configurable:true});` +
    "document.dispatchEvent(new Event('visibilitychange'))")

const ops = {
  async newContext() {
    await context?.close()
    context = await browser.newContext()
    errors = []
    messages = []
    requests = []
    cdp = undefined
    page = await context.newPage()
    watch(page)
    return browser.version()
  },
  async closeContext() {
    await context?.close()
    context = undefined
  },
  async newPage() {
    page = await context.newPage()
    cdp = undefined
    watch(page)
  },
  goto: async (url) => (await page.goto(url, { waitUntil: 'load' }))?.status(),
  evaluate: (expression) => page.evaluate(expression),
  // options: Playwright's, e.g. {button: 'middle'} or {modifiers: ['Control']}
  click: (selector, options) => page.click(selector, options),
  waitForURL: (pattern) => page.waitForURL(new RegExp(pattern)),
  url: () => page.url(),
  cookies: () => context.cookies(),
  errors: () => errors,
  console: () => messages,
  pages: () => context.pages().map((p) => p.url()),
  clockInstall: (time) => context.clock.install({ time }),
  clockSetSystemTime: (time) => page.clock.setSystemTime(time),
  userAgent: () => page.evaluate('navigator.userAgent'),
  hide: (before) => visibility('hidden', before),
  show: (before) => visibility('visible', before),
  // Runs before any script of every later page of this context (removing browser features).
  addInitScript: (script) => context.addInitScript(script),
  clockPauseAt: (time) => page.clock.pauseAt(time),
  clockRunFor: (ms) => page.clock.runFor(ms),
  clockResume: () => page.clock.resume(),
  waitForFunction: async (expression) =>
    (await page.waitForFunction(expression, undefined, { timeout: 10000 })).jsonValue(),
  requests: () => requests,
  // For bench/snippet.py: raw DevTools Protocol calls on the current page.
  cdp: async (method, params) => (cdp ??= await context.newCDPSession(page)).send(method, params),
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
